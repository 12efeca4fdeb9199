//! Body texts handed from the write path to a search index in the same process.
//!
//! Storing a message parses it already (for its listing facts); an indexer that runs beside the
//! writer would otherwise read the blob back, decrypt, decompress and parse it a second time,
//! which was half of what indexing cost. So while an indexer has asked for them
//! ([`Archive::keep_fresh_bodies`]), each stored message's body text waits here, by item id,
//! until the indexer takes it. This is only a shortcut: whatever is not here (another process
//! stored it, the bound was reached, the process restarted) is read from the store as before.
//! Item ids are never reused and a record's content never changes, so a text kept here can only
//! be the right one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::Archive;
use crate::types::ItemId;

#[derive(Debug, Default)]
pub(super) struct FreshBodies {
    /// 0 = nobody takes them, so none are kept.
    max_bytes: AtomicUsize,
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    bodies: HashMap<ItemId, String>,
    bytes: usize,
}

impl FreshBodies {
    pub(super) fn wanted(&self) -> bool {
        self.max_bytes.load(Ordering::Relaxed) > 0
    }

    /// Keeps what fits under the bound. When the indexer falls behind, the newest are the ones
    /// left out: it reads in change order, so the oldest are the ones it needs next.
    pub(super) fn keep(&self, bodies: impl IntoIterator<Item = (ItemId, String)>) {
        let max = self.max_bytes.load(Ordering::Relaxed);
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        for (id, body) in bodies {
            if kept.bytes + body.len() > max {
                break;
            }
            kept.bytes += body.len();
            if let Some(old) = kept.bodies.insert(id, body) {
                kept.bytes -= old.len();
            }
        }
    }

    fn take(&self, id: ItemId) -> Option<String> {
        let mut kept = self.kept.lock().ok()?;
        let body = kept.bodies.remove(&id)?;
        kept.bytes -= body.len();
        Some(body)
    }
}

impl Archive {
    /// Keeps up to `max_bytes` of stored messages' body texts for [`Archive::take_fresh_body`].
    /// Called by an indexer that runs in this process and takes them; 0 turns it off again and
    /// drops what is kept.
    pub fn keep_fresh_bodies(&self, max_bytes: usize) {
        self.fresh.max_bytes.store(max_bytes, Ordering::Relaxed);
        if max_bytes == 0 {
            if let Ok(mut kept) = self.fresh.kept.lock() {
                *kept = Kept::default();
            }
        }
    }

    /// The body text of a message stored by this process, as `meta::body_text` would read it
    /// from the store, if it is still kept; taking it frees its room.
    pub fn take_fresh_body(&self, id: ItemId) -> Option<String> {
        self.fresh.take(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_the_bound_and_hands_each_body_out_once() {
        let fresh = FreshBodies::default();
        fresh.keep([(1, "lost".to_owned())]);
        assert!(
            fresh.take(1).is_none(),
            "nothing is kept while nobody wants it"
        );

        fresh.max_bytes.store(10, Ordering::Relaxed);
        fresh.keep([
            (1, "four".to_owned()),
            (2, "five5".to_owned()),
            (3, "toolong".to_owned()),
        ]);
        assert_eq!(fresh.take(3), None, "past the bound");
        assert_eq!(fresh.take(1).as_deref(), Some("four"));
        assert_eq!(fresh.take(1), None, "handed out once");
        // Taking frees room for the next ones.
        fresh.keep([(4, "five4".to_owned())]);
        assert_eq!(fresh.take(4).as_deref(), Some("five4"));
        assert_eq!(fresh.take(2).as_deref(), Some("five5"));
    }
}
