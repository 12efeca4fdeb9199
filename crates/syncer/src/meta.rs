//! What the portal lists for a synced calendar item or contact. The formats themselves are read
//! in `transfer`; this only picks the reader for what the connector delivered.

use archive::{ItemMeta, Timestamp};
use mailsync::ContentFormat;
use transfer::{calendar, contacts};

pub fn item_meta(format: ContentFormat, data: &[u8]) -> ItemMeta {
    match format {
        ContentFormat::Ics => calendar::ics_meta(data),
        ContentFormat::Vcf => contacts::vcf_meta(data),
        ContentFormat::GraphEventJson => calendar::graph_event_meta(data),
        ContentFormat::GraphContactJson => contacts::graph_contact_meta(data),
        ContentFormat::Mime => ItemMeta::default(),
    }
}

/// The list columns from the properties the connector read, which know more than the MIME
/// (attendees) and are the same for both protocols.
pub fn record_meta(record: &pim::Record) -> ItemMeta {
    match record {
        pim::Record::Event(e) => {
            let organizer = e.organizer.clone().unwrap_or_default();
            ItemMeta {
                subject: e.subject.clone(),
                sender: if organizer.name.is_empty() {
                    organizer.address.clone()
                } else {
                    organizer.name
                },
                sender_address: organizer.address,
                to: e
                    .attendees
                    .iter()
                    .map(|a| a.person.address.clone())
                    .collect(),
                date: Some(Timestamp::from_unix_seconds(e.start_utc().timestamp())),
                ..ItemMeta::default()
            }
        }
        pim::Record::Contact(c) => {
            let mut emails: Vec<String> = c.emails.iter().map(|e| e.address.clone()).collect();
            let first = if emails.is_empty() {
                String::new()
            } else {
                emails.remove(0)
            };
            ItemMeta {
                subject: c.shown_name(),
                sender: c.shown_name(),
                sender_address: first,
                to: emails,
                ..ItemMeta::default()
            }
        }
    }
}
