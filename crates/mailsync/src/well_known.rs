//! The standard folders of a mailbox, by role.

use serde::{Deserialize, Serialize};

/// The role of one of the mailbox's standard folders. Servers name these folders in the
/// mailbox's language ("Posteingang", "Boîte de réception"), so the role comes from the server's
/// own identification of the folder (EWS distinguished ids, Graph well-known names), never from
/// the display name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WellKnown {
    Inbox,
    SentItems,
    Drafts,
    DeletedItems,
    JunkEmail,
    Outbox,
    Archive,
    Calendar,
    Contacts,
}

impl WellKnown {
    pub const ALL: [WellKnown; 9] = [
        WellKnown::Inbox,
        WellKnown::SentItems,
        WellKnown::Drafts,
        WellKnown::DeletedItems,
        WellKnown::JunkEmail,
        WellKnown::Outbox,
        WellKnown::Archive,
        WellKnown::Calendar,
        WellKnown::Contacts,
    ];

    /// The EWS DistinguishedFolderId / Graph well-known folder name.
    pub fn server_name(self) -> &'static str {
        match self {
            WellKnown::Inbox => "inbox",
            WellKnown::SentItems => "sentitems",
            WellKnown::Drafts => "drafts",
            WellKnown::DeletedItems => "deleteditems",
            WellKnown::JunkEmail => "junkemail",
            WellKnown::Outbox => "outbox",
            WellKnown::Archive => "archive",
            WellKnown::Calendar => "calendar",
            WellKnown::Contacts => "contacts",
        }
    }

    pub fn from_server_name(name: &str) -> Option<WellKnown> {
        WellKnown::ALL
            .into_iter()
            .find(|w| w.server_name().eq_ignore_ascii_case(name))
    }
}
