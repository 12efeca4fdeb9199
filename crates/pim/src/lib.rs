//! Calendar items and contacts as the archive keeps them next to their content.
//!
//! EWS gives a calendar item's MIME without its attendees and a contact's vCard that cannot be
//! imported back; Graph gives JSON only. So the connectors read each item's properties into the
//! records here ([`Event`], [`Contact`]), one form for both protocols, and the archive stores
//! them as JSON beside the content. The explorer's calendar and contact views read them, and so
//! will export (ICS, VCF) and restore.
//!
//! Times are local wall-clock times in the event's own IANA zone, as Outlook and Graph think of
//! them: a series is expanded in that zone ([`Event::occurrences`]), so it keeps its hour across
//! a daylight-saving change, and an all-day event stays on its date wherever it is viewed.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod contact;
mod event;
pub mod layout;
mod recurrence;
mod zones;

pub use contact::{Contact, ContactEmail, ContactPhone, Photo, PostalAddress};
pub use event::{Attendee, AttendeeKind, Event, EventException, Occurrence, Person, Response};
pub use recurrence::{month_from_name, Day, Pattern, Range, Recurrence, WeekIndex};
pub use zones::{zone_from_name, Transition, Zone, ZoneRule};

use serde::{Deserialize, Serialize};

/// The properties of one calendar item or contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Event(Event),
    Contact(Contact),
}

#[derive(Debug, thiserror::Error)]
pub enum PimError {
    #[error("the stored properties are not readable: {0}")]
    Unreadable(#[from] serde_json::Error),
}

impl Record {
    pub fn to_json(&self) -> Vec<u8> {
        // A record holds only strings, numbers and lists: serialising it cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_json(data: &[u8]) -> Result<Record, PimError> {
        Ok(serde_json::from_slice(data)?)
    }
}
