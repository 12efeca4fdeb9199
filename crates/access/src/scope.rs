//! Which mailboxes an assignment reaches: all, or those whose owner is at one of some domains or
//! is one of some addresses (Exchange's management scopes are the model).

use domain::MailAddress;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    All,
    /// Lower-case domains ("example.com") and addresses ("ceo@example.com").
    Owners(Vec<String>),
}

impl Scope {
    /// From the stored text: empty means all mailboxes, else one domain or address per line.
    pub fn from_stored(text: &str) -> Scope {
        let entries: Vec<String> = text
            .lines()
            .map(MailAddress::fold)
            .filter(|e| !e.is_empty())
            .collect();
        if entries.is_empty() {
            Scope::All
        } else {
            Scope::Owners(entries)
        }
    }

    pub fn to_stored(&self) -> String {
        match self {
            Scope::All => String::new(),
            Scope::Owners(entries) => entries.join("\n"),
        }
    }

    /// Parses what an administrator typed: domains and addresses separated by commas, spaces or
    /// lines; nothing means all mailboxes.
    pub fn parse(text: &str) -> Result<Scope, String> {
        let mut entries = Vec::new();
        for entry in MailAddress::split_list(text) {
            let folded = MailAddress::fold(&entry);
            let entry = match folded.strip_prefix('@') {
                Some(domain) => domain.to_owned(),
                None => folded,
            };
            let valid = if entry.contains('@') {
                MailAddress::parse(&entry).is_ok()
            } else {
                entry.contains('.') && !entry.starts_with('.') && !entry.ends_with('.')
            };
            if !valid {
                return Err(format!("“{entry}” is neither a domain nor a mail address."));
            }
            entries.push(entry);
        }
        entries.sort();
        entries.dedup();
        Ok(if entries.is_empty() {
            Scope::All
        } else {
            Scope::Owners(entries)
        })
    }

    /// Whether a mailbox owned by `owner` is inside.
    pub fn covers(&self, owner: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Owners(entries) => {
                let owner = MailAddress::fold(owner);
                let domain = owner.rsplit_once('@').map_or("", |(_, d)| d);
                entries.iter().any(|e| *e == owner || *e == domain)
            }
        }
    }

    /// The wider of two scopes, for a permission held through several roles.
    pub fn union(self, other: Scope) -> Scope {
        match (self, other) {
            (Scope::All, _) | (_, Scope::All) => Scope::All,
            (Scope::Owners(mut a), Scope::Owners(b)) => {
                a.extend(b);
                a.sort();
                a.dedup();
                Scope::Owners(a)
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Scope::All => "all mailboxes".to_owned(),
            Scope::Owners(entries) => entries.join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_addresses_cover_their_owners_only() {
        let scope = Scope::parse("@Branch.example.com, ceo@example.com").unwrap();
        assert!(scope.covers("ann@branch.example.com"));
        assert!(scope.covers("CEO@example.com"));
        assert!(!scope.covers("bob@example.com"));
        assert!(!scope.covers("eve@evil-branch.example.com"));
        assert_eq!(Scope::from_stored(&scope.to_stored()), scope);
        assert_eq!(Scope::parse(" ").unwrap(), Scope::All);
        assert!(Scope::parse("not a domain").is_err());
        assert_eq!(Scope::parse("a.com").unwrap().union(Scope::All), Scope::All);
    }
}
