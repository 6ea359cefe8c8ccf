//! How an image list is asked for: search words, sort column and direction, page. It lives
//! in the URL query (`?q=tf&sort=type&dir=desc&page=2`), so a link restores the view.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SortColumn {
    #[default]
    Name,
    DisplayName,
    Description,
    Type,
    /// The compressed size of a built image (unknown sizes first, ascending).
    Size,
}

impl SortColumn {
    pub const ALL: [SortColumn; 5] = [
        SortColumn::Name,
        SortColumn::DisplayName,
        SortColumn::Description,
        SortColumn::Type,
        SortColumn::Size,
    ];

    /// The word in the URL.
    pub fn key(self) -> &'static str {
        match self {
            SortColumn::Name => "name",
            SortColumn::DisplayName => "display_name",
            SortColumn::Description => "description",
            SortColumn::Type => "type",
            SortColumn::Size => "size",
        }
    }

    /// The column heading on screen.
    pub fn label(self) -> &'static str {
        match self {
            SortColumn::Name => "Name",
            SortColumn::DisplayName => "Display Name",
            SortColumn::Description => "Description",
            SortColumn::Type => "Type",
            SortColumn::Size => "Size",
        }
    }

    pub fn from_key(s: &str) -> Option<SortColumn> {
        Self::ALL.into_iter().find(|c| c.key() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// Matched case-insensitively against name, display name, description and type.
    pub search: String,
    pub sort: SortColumn,
    pub descending: bool,
    /// 1-based.
    pub page: u32,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            search: String::new(),
            sort: SortColumn::Name,
            descending: false,
            page: 1,
        }
    }
}

impl ListQuery {
    pub const PER_PAGE: u32 = 20;
    pub const MAX_SEARCH: usize = 200;

    /// Reads the URL query's values; anything unknown falls back to the default view.
    pub fn from_params(
        q: Option<&str>,
        sort: Option<&str>,
        dir: Option<&str>,
        page: Option<&str>,
    ) -> ListQuery {
        ListQuery {
            search: q
                .unwrap_or_default()
                .trim()
                .chars()
                .take(Self::MAX_SEARCH)
                .collect(),
            sort: sort.and_then(SortColumn::from_key).unwrap_or_default(),
            descending: dir == Some("desc"),
            page: page
                .and_then(|p| p.parse().ok())
                .filter(|p| *p >= 1)
                .unwrap_or(1),
        }
    }

    /// The URL query for this view (only what differs from the default).
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if !self.search.is_empty() {
            parts.push(format!("q={}", encode(&self.search)));
        }
        if self.sort != SortColumn::Name {
            parts.push(format!("sort={}", self.sort.key()));
        }
        if self.descending {
            parts.push("dir=desc".to_owned());
        }
        if self.page > 1 {
            parts.push(format!("page={}", self.page));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }

    /// The view sorted by `column`: ascending, or flipped when it is already the sort.
    pub fn sorted_by(&self, column: SortColumn) -> ListQuery {
        let descending = self.sort == column && !self.descending;
        ListQuery {
            sort: column,
            descending,
            page: 1,
            ..self.clone()
        }
    }

    pub fn at_page(&self, page: u32) -> ListQuery {
        ListQuery {
            page,
            ..self.clone()
        }
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(Self::PER_PAGE)
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_round_trips_through_its_url() {
        let q = ListQuery::from_params(Some(" tf 2 "), Some("type"), Some("desc"), Some("3"));
        assert_eq!(
            q,
            ListQuery {
                search: "tf 2".into(),
                sort: SortColumn::Type,
                descending: true,
                page: 3
            }
        );
        assert_eq!(q.to_query_string(), "?q=tf%202&sort=type&dir=desc&page=3");
        assert_eq!(ListQuery::default().to_query_string(), "");
    }

    #[test]
    fn nonsense_in_the_url_gives_the_default_view() {
        let q = ListQuery::from_params(
            None,
            Some("password; DROP TABLE"),
            Some("sideways"),
            Some("-1"),
        );
        assert_eq!(q, ListQuery::default());
        let long = "x".repeat(10_000);
        assert_eq!(
            ListQuery::from_params(Some(&long), None, None, None)
                .search
                .len(),
            ListQuery::MAX_SEARCH
        );
    }

    #[test]
    fn clicking_a_heading_sorts_then_flips() {
        let q = ListQuery::default().at_page(4);
        let by_type = q.sorted_by(SortColumn::Type);
        assert_eq!(
            (by_type.sort, by_type.descending, by_type.page),
            (SortColumn::Type, false, 1)
        );
        assert!(by_type.sorted_by(SortColumn::Type).descending);
        assert!(
            !by_type
                .sorted_by(SortColumn::Type)
                .sorted_by(SortColumn::Type)
                .descending
        );
    }
}
