//! Times as Kiln shows them: milliseconds since the Unix epoch, in UTC to the minute. Plain
//! arithmetic, so that pages render the same text on the server and in the browser.

/// `2026-11-30 16:05 UTC` for a time in milliseconds since the epoch.
pub fn utc_minute(ms: i64) -> String {
    let minutes = ms.div_euclid(60_000);
    let (days, minute_of_day) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

/// A date `YYYY-MM-DD` as the time (ms since the epoch) its day starts in UTC, or
/// `end_of_day`: the time its day ends (the next day's start). Empty: `None`.
pub fn parse_utc_date(
    field: &str,
    text: &str,
    end_of_day: bool,
) -> Result<Option<i64>, super::FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let invalid = || super::FieldError::coded(field, super::messages::DATE, &[]);
    let mut parts = text.splitn(3, '-');
    let mut number = |digits: usize| {
        parts
            .next()
            .filter(|p| p.len() == digits && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<i64>().ok())
            .ok_or_else(invalid)
    };
    let (year, month, day) = (number(4)?, number(2)?, number(2)?);
    let days = days_from_civil(year, month, day).ok_or_else(invalid)?;
    Ok(Some((days + i64::from(end_of_day)) * 86_400_000))
}

/// The day number (days since 1970-01-01) of a proleptic Gregorian date, if it exists.
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let day_of_year = (153 * mp + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    // 2026-02-30 would count on into March: only a date that reads back as itself exists.
    (civil_from_days(days) == (year, month as u32, day as u32)).then_some(days)
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard
/// Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::utc_minute;

    #[test]
    fn times_read_as_utc_dates_to_the_minute() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(951_782_400_000), "2000-02-29 00:00 UTC");
        assert_eq!(utc_minute(1_796_054_700_000), "2026-11-30 16:05 UTC");
        assert_eq!(utc_minute(1_796_054_759_999), "2026-11-30 16:05 UTC");
        assert_eq!(utc_minute(-60_000), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn dates_are_days_in_utc_and_only_real_ones() {
        use super::parse_utc_date;
        assert_eq!(parse_utc_date("since", "", false), Ok(None));
        assert_eq!(parse_utc_date("since", "1970-01-01", false), Ok(Some(0)));
        assert_eq!(
            parse_utc_date("until", "1970-01-01", true),
            Ok(Some(86_400_000))
        );
        let nov30 = parse_utc_date("since", " 2026-11-30 ", false)
            .unwrap()
            .unwrap();
        assert_eq!(utc_minute(nov30), "2026-11-30 00:00 UTC");
        assert_eq!(
            parse_utc_date("since", "2000-02-29", false),
            Ok(Some(951_782_400_000))
        );
        for bad in [
            "2026-02-30",
            "2025-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-11-30",
            "yesterday",
            "2026-11-30T00",
        ] {
            assert_eq!(
                parse_utc_date("since", bad, false).unwrap_err().field,
                "since",
                "{bad}"
            );
        }
    }
}
