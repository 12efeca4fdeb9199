//! Where the person is in the mail screen, read from and written to the URL, so a link can be
//! shared and the back button works.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailLocation {
    /// `m`: the mailbox (the first one when absent).
    pub mailbox: Option<i64>,
    /// `f`: the folder (the Inbox when absent).
    pub folder: Option<i64>,
    /// `msg`: the open message.
    pub message: Option<i64>,
    /// `q`: a search; when present the list shows its results.
    pub query: Option<String>,
    /// `w`: the one mailbox a search is narrowed to; absent: every mailbox the person owns.
    pub within: Option<i64>,
    /// `sort`: `date`, `sender`, `subject`, `size`, each optionally `-asc`.
    pub sort: Option<String>,
    /// `after`: the paging cursor of the folder list.
    pub after: Option<String>,
    /// `n`: how many messages come before this page (for "51–100 of 1,234").
    pub skipped: usize,
    /// `page`: the search results page, from 0.
    pub page: usize,
    /// The administrator's explorer (`/admin/mailbox`) rather than the owner's `/mail`.
    pub explorer: bool,
    /// `at`: the instant the explorer shows (RFC 3339); absent: now.
    pub at: Option<String>,
}

impl MailLocation {
    pub fn to_url(&self) -> String {
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(m) = self.mailbox {
            params.push(("m", m.to_string()));
        }
        if let Some(f) = self.folder {
            params.push(("f", f.to_string()));
        }
        if let Some(q) = &self.query {
            params.push(("q", q.clone()));
        }
        if let Some(w) = self.within {
            params.push(("w", w.to_string()));
        }
        if let Some(sort) = &self.sort {
            params.push(("sort", sort.clone()));
        }
        if let Some(after) = &self.after {
            params.push(("after", after.clone()));
        }
        if self.skipped > 0 {
            params.push(("n", self.skipped.to_string()));
        }
        if self.page > 0 {
            params.push(("page", self.page.to_string()));
        }
        if let Some(at) = &self.at {
            params.push(("at", at.clone()));
        }
        if let Some(msg) = self.message {
            params.push(("msg", msg.to_string()));
        }
        let path = self.path();
        if params.is_empty() {
            return path.to_owned();
        }
        let query: Vec<String> = params
            .into_iter()
            .map(|(k, v)| format!("{k}={}", encode(&v)))
            .collect();
        format!("{path}?{}", query.join("&"))
    }

    pub fn path(&self) -> &'static str {
        if self.explorer {
            "/admin/mailbox"
        } else {
            "/mail"
        }
    }

    /// Where a message's body and downloads are served: the explorer's are audited as an
    /// administrator's access.
    pub fn content_prefix(&self) -> &'static str {
        if self.explorer {
            "/admin"
        } else {
            ""
        }
    }

    /// The same place with another message open.
    pub fn with_message(&self, message: i64) -> Self {
        MailLocation {
            message: Some(message),
            ..self.clone()
        }
    }

    /// A folder's first page, nothing open, no search, in the same screen and instant.
    pub fn in_folder(&self, mailbox: i64, folder: i64) -> Self {
        MailLocation {
            mailbox: Some(mailbox),
            folder: Some(folder),
            explorer: self.explorer,
            at: self.at.clone(),
            ..Default::default()
        }
    }

    /// Another mailbox's default folder, in the same screen.
    pub fn in_mailbox(&self, mailbox: i64) -> Self {
        MailLocation {
            mailbox: Some(mailbox),
            explorer: self.explorer,
            ..Default::default()
        }
    }
}

/// The location in the current URL, as a signal; `explorer` for the admin's explorer.
pub fn use_mail_location(explorer: bool) -> Memo<MailLocation> {
    let query = use_query_map();
    Memo::new(move |_| {
        query.with(|q| {
            let number = |key: &str| q.get(key).and_then(|v| v.parse::<i64>().ok());
            let text = |key: &str| q.get(key).filter(|v| !v.is_empty());
            MailLocation {
                mailbox: number("m"),
                folder: number("f"),
                message: number("msg"),
                query: text("q"),
                within: number("w"),
                sort: text("sort"),
                after: text("after"),
                skipped: number("n")
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(0),
                page: number("page")
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(0),
                explorer,
                at: text("at"),
            }
        })
    })
}

/// Percent-encodes a query value (everything but the unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_every_part_encoded() {
        let loc = MailLocation {
            mailbox: Some(2),
            folder: Some(7),
            message: Some(99),
            query: Some("from:anna \"café & co\"".to_owned()),
            within: None,
            sort: None,
            after: None,
            skipped: 0,
            page: 1,
            explorer: false,
            at: None,
        };
        assert_eq!(
            loc.to_url(),
            "/mail?m=2&f=7&q=from%3Aanna%20%22caf%C3%A9%20%26%20co%22&page=1&msg=99"
        );
        assert_eq!(MailLocation::default().to_url(), "/mail");
        let admin = MailLocation {
            explorer: true,
            at: Some("2026-03-01T14:00:00Z".to_owned()),
            ..loc
        };
        assert_eq!(
            admin.in_folder(2, 8).to_url(),
            "/admin/mailbox?m=2&f=8&at=2026-03-01T14%3A00%3A00Z"
        );
    }
}
