//! A contact with every field Outlook shows on its card.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// An e-mail address of a contact. `label` is the slot Exchange keeps it in ("EmailAddress1"
/// to "EmailAddress3") or the vCard type; `name` is the display name stored with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEmail {
    pub label: String,
    pub address: String,
    pub name: String,
}

/// `label` in Exchange's words: "BusinessPhone", "MobilePhone", "HomePhone", ...
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPhone {
    pub label: String,
    pub number: String,
}

/// `label`: "Business", "Home" or "Other".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub label: String,
    pub street: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
}

impl PostalAddress {
    /// The address as lines on an envelope, empty parts left out.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .street
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        let town = [self.postal_code.trim(), self.city.trim()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        for part in [town.as_str(), self.state.trim(), self.country.trim()] {
            if !part.is_empty() {
                out.push(part.to_string());
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Photo {
    pub content_type: String,
    /// Base64 of the image bytes (Exchange keeps contact photos small: at most 648x648).
    pub data: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub display_name: String,
    pub file_as: String,
    pub title: String,
    pub given_name: String,
    pub middle_name: String,
    pub surname: String,
    pub suffix: String,
    pub nickname: String,
    pub initials: String,
    pub company: String,
    pub department: String,
    pub job_title: String,
    pub office: String,
    pub manager: String,
    pub assistant: String,
    pub emails: Vec<ContactEmail>,
    pub phones: Vec<ContactPhone>,
    pub addresses: Vec<PostalAddress>,
    pub im_addresses: Vec<String>,
    pub web_page: String,
    pub birthday: Option<NaiveDate>,
    pub notes: String,
    pub categories: Vec<String>,
    pub photo: Option<Photo>,
}

impl Contact {
    /// What a list shows: the display name, or the name parts, or the first address.
    pub fn shown_name(&self) -> String {
        if !self.display_name.trim().is_empty() {
            return self.display_name.trim().to_string();
        }
        let parts = [self.given_name.trim(), self.surname.trim()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !parts.is_empty() {
            return parts;
        }
        if !self.company.trim().is_empty() {
            return self.company.trim().to_string();
        }
        self.emails
            .first()
            .map(|e| e.address.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_lines_skip_empty_parts() {
        let a = PostalAddress {
            label: "Business".into(),
            street: "Bahnhofstrasse 1\nFloor 4".into(),
            city: "Zürich".into(),
            postal_code: "8001".into(),
            country: "Switzerland".into(),
            ..PostalAddress::default()
        };
        assert_eq!(
            a.lines(),
            ["Bahnhofstrasse 1", "Floor 4", "8001 Zürich", "Switzerland"]
        );
    }

    #[test]
    fn shown_name_falls_back() {
        let c = Contact {
            emails: vec![ContactEmail {
                address: "x@example.com".into(),
                ..ContactEmail::default()
            }],
            ..Contact::default()
        };
        assert_eq!(c.shown_name(), "x@example.com");
    }
}
