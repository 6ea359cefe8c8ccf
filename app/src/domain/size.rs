//! How an image's size reads on screen: decimal units, as registries and `docker images`
//! show them, three significant figures at most.

/// `bytes` in B, kB, MB or GB: `952 B`, `12.3 kB`, `523 MB`, `1.21 GB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for next in UNITS {
        if value < 999.5 {
            break;
        }
        value /= 1000.0;
        unit = next;
    }
    let decimals = if value < 9.995 {
        2
    } else if value < 99.95 {
        1
    } else {
        0
    };
    format!("{value:.decimals$} {unit}")
}

/// A size as a table cell shows it: a dash when it is not known.
pub fn size_cell(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "—".to_owned(), format_size)
}

#[cfg(test)]
mod tests {
    use super::format_size;

    #[test]
    fn sizes_read_in_decimal_units_with_three_figures() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(999), "999 B");
        assert_eq!(format_size(1_000), "1.00 kB");
        assert_eq!(format_size(12_345), "12.3 kB");
        assert_eq!(format_size(523_456_789), "523 MB");
        assert_eq!(
            format_size(999_600),
            "1.00 MB",
            "rounds up into the next unit"
        );
        assert_eq!(format_size(1_210_000_000), "1.21 GB");
        assert_eq!(format_size(u64::MAX), "18446744 TB");
    }
}
