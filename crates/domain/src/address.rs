use std::fmt;

use serde::{Deserialize, Serialize};

/// A mail address as this product stores and compares it: trimmed and lower-cased, with a local
/// part and a dotted domain. Exchange, the accounts and the archive all compare addresses
/// case-insensitively, so folding once here means one address is one row everywhere.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{0}” is not a mail address")]
pub struct InvalidAddress(pub String);

/// RFC 5321 limits a path to 256 octets; 320 (64 + 1 + 255) is the common upper bound for the
/// parts taken separately.
const MAX_LEN: usize = 320;

impl MailAddress {
    pub fn parse(text: &str) -> Result<MailAddress, InvalidAddress> {
        let folded = Self::fold(text);
        let valid = folded.len() <= MAX_LEN
            && !folded.chars().any(|c| c.is_whitespace() || c.is_control())
            && folded.rsplit_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !local.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if valid {
            Ok(MailAddress(folded))
        } else {
            Err(InvalidAddress(text.trim().to_owned()))
        }
    }

    /// The case folding of addresses, also for lookups by text that need not be valid.
    pub fn fold(text: &str) -> String {
        text.trim().to_lowercase()
    }

    /// The entries of a text box of addresses: one per line, or separated by commas, semicolons
    /// or spaces. Not validated: [`MailAddress::parse_all`] does that.
    pub fn split_list(text: &str) -> Vec<String> {
        text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Several addresses, sorted, each once. The first one that is not an address is the error.
    pub fn parse_all(entries: &[String]) -> Result<Vec<MailAddress>, InvalidAddress> {
        let mut list = entries
            .iter()
            .map(|a| MailAddress::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        list.sort();
        list.dedup();
        Ok(list)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MailAddress {
    type Error = InvalidAddress;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        MailAddress::parse(&value)
    }
}

impl From<MailAddress> for String {
    fn from(value: MailAddress) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_space_once() {
        let a = MailAddress::parse("  Alice.Martin@Example.COM ").unwrap();
        assert_eq!(a.as_str(), "alice.martin@example.com");
        assert_eq!(a, MailAddress::parse("alice.martin@example.com").unwrap());
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@localhost",
            "a b@example.com",
            "alice@.com",
            "alice@example.",
            "a@b@example.com",
            "tab\t@example.com",
            &format!("{}@example.com", "a".repeat(320)),
        ] {
            let err = MailAddress::parse(bad).unwrap_err();
            assert_eq!(err.0, bad.trim(), "{bad:?}");
        }
    }

    #[test]
    fn a_list_is_split_sorted_and_deduplicated() {
        let list = MailAddress::parse_all(&MailAddress::split_list(
            "b@example.com, A@example.com;\nb@example.com  c@x.org",
        ))
        .unwrap();
        let text: Vec<&str> = list.iter().map(MailAddress::as_str).collect();
        assert_eq!(text, ["a@example.com", "b@example.com", "c@x.org"]);
        let bad = MailAddress::parse_all(&MailAddress::split_list("a@example.com, not-an-address"))
            .unwrap_err();
        assert_eq!(bad.0, "not-an-address");
        assert!(MailAddress::parse_all(&MailAddress::split_list("  "))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn deserialising_validates() {
        let ok: MailAddress = serde_json::from_str("\"X@Example.com\"").unwrap();
        assert_eq!(ok.as_str(), "x@example.com");
        assert!(serde_json::from_str::<MailAddress>("\"nope\"").is_err());
    }
}
