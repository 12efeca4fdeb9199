//! Records for calendar items and contacts archived before records were kept (or imported as
//! files): read once from their own content (iCalendar and vCard through `transfer`, Graph JSON
//! through the connector's own reader) and stored next to it. EWS calendar MIME carries no
//! attendees, so such an event has none: the record says what the content says, no more.

use archive::{Archive, ItemKind};

use crate::Result;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackfillReport {
    /// Items that got their record.
    pub filled: usize,
    /// Items whose content no reader understands: they keep showing their list columns only.
    pub unreadable: usize,
}

/// The record an item's content gives, if any reader understands it.
pub fn record_from_content(kind: ItemKind, raw: &[u8]) -> Option<pim::Record> {
    let start = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| &raw[i..])
        .unwrap_or_default();
    if start.starts_with(b"{") {
        let v: serde_json::Value = serde_json::from_slice(raw).ok()?;
        return match kind {
            ItemKind::Calendar => mailsync::graph::properties::event(&v).map(pim::Record::Event),
            ItemKind::Contact => Some(pim::Record::Contact(mailsync::graph::properties::contact(
                &v,
            ))),
            ItemKind::Message => None,
        };
    }
    match kind {
        ItemKind::Calendar => transfer::records::ics_event(raw).map(pim::Record::Event),
        ItemKind::Contact => transfer::records::vcf_contact(raw).map(pim::Record::Contact),
        ItemKind::Message => None,
    }
}

/// Gives every calendar item and contact without a record the one its content holds. Safe to
/// run again and beside a sync: an item that got its record meanwhile keeps it.
pub async fn backfill_records(archive: &Archive) -> Result<BackfillReport> {
    let mut report = BackfillReport::default();
    let mut after = 0;
    loop {
        let ids = archive.items_without_properties(after, 500).await?;
        let Some(last) = ids.last().copied() else {
            return Ok(report);
        };
        after = last;
        for id in ids {
            let Some(item) = archive.item(id).await? else {
                continue;
            };
            let raw = archive.read_raw(id).await?;
            match record_from_content(item.kind, &raw) {
                Some(record) => {
                    if archive
                        .set_missing_properties(id, &record.to_json())
                        .await?
                    {
                        report.filled += 1;
                    }
                }
                None => report.unreadable += 1,
            }
        }
    }
}
