//! What the portal lists for a synced calendar item or contact. The formats themselves are read
//! in `transfer`; this only picks the reader for what the connector delivered.

use archive::ItemMeta;
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
