//! The calendar through calendarView delta, which never returns a series master: it returns
//! single events, and the occurrences and exceptions of each series, each with its
//! `seriesMasterId`. The archive keeps a series as one item, as EWS gives it, so every series
//! touched by a page is read whole: the master (`GET /events/{id}`) and its instances in the
//! window (`/events/{id}/instances`), folded into one record with its exceptions and the
//! occurrences deleted from it (Graph lists a deleted occurrence nowhere; it is missing among
//! the instances).
//!
//! A removed instance does not say which series it belonged to. So the delta state carries the
//! ids of the series this calendar holds, and a page with removals reads each of them again: a
//! series that answers 404 is removed, one that lost an occurrence is stored with it deleted.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::parse::DeltaEntry;
use super::{path_segment, properties, GraphSource};
use crate::context::MailboxCtx;
use crate::error::SourceError;
use crate::source::{ItemChange, ItemContent};

/// What a calendar's sync state holds: the delta link, the series seen so far, and those read
/// whole in the current round of pages. A series' instances run over many pages; it is read
/// once per round, and a change after that read comes in the next round.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct CalendarState {
    pub link: String,
    pub series: BTreeSet<String>,
    #[serde(default)]
    pub read_this_round: BTreeSet<String>,
}

impl CalendarState {
    /// A state as stored. Before series were tracked it was the bare link.
    pub fn parse(state: &str) -> CalendarState {
        serde_json::from_str(state).unwrap_or_else(|_| CalendarState {
            link: state.to_owned(),
            ..CalendarState::default()
        })
    }

    pub fn encode(&self) -> Result<String, SourceError> {
        serde_json::to_string(self).map_err(|e| SourceError::Protocol(e.to_string()))
    }
}

/// What one page of calendarView delta asks of the connector.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct PageWork {
    /// Single events, to store as they are.
    pub singles: Vec<usize>,
    /// Ids Graph removed: single events, or instances of a series.
    pub removed: Vec<String>,
    /// Series to read whole, in the order the page first named them.
    pub series: Vec<String>,
}

/// Sorts a page's entries into [`PageWork`].
pub(super) fn sort_page(entries: &[DeltaEntry]) -> PageWork {
    let mut work = PageWork::default();
    for (i, e) in entries.iter().enumerate() {
        let Some(id) = e.id.clone() else { continue };
        if e.removed.is_some() {
            work.removed.push(id);
            continue;
        }
        let master = e
            .raw
            .get("seriesMasterId")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                (e.raw.get("type").and_then(Value::as_str) == Some("seriesMaster"))
                    .then(|| id.clone())
            });
        match master {
            Some(m) => {
                if !work.series.contains(&m) {
                    work.series.push(m);
                }
            }
            None => work.singles.push(i),
        }
    }
    work
}

fn window(config: &(String, String)) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = |s: &str, fallback: DateTime<Utc>| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(fallback)
    };
    (
        at(&config.0, DateTime::<Utc>::MIN_UTC),
        at(&config.1, DateTime::<Utc>::MAX_UTC),
    )
}

/// A stored event's content and record from its JSON.
pub(super) fn event_content(raw: &Value) -> Result<ItemContent, SourceError> {
    Ok(ItemContent {
        data: serde_json::to_vec(raw).map_err(|e| SourceError::Protocol(e.to_string()))?,
        record: properties::event(raw).map(|e| Box::new(pim::Record::Event(e))),
    })
}

impl GraphSource {
    /// The series whole, or `None` when Graph no longer has it.
    async fn read_series(
        &self,
        mb: &MailboxCtx,
        user: &str,
        id: &str,
    ) -> Result<Option<Value>, SourceError> {
        let master_url = format!("{user}/events/{}", path_segment(id));
        let master = match self.client().get_json(mb, &master_url, None).await {
            Ok(v) => v,
            Err(SourceError::ItemNotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let (from, to) = window(&self.client().config().calendar_window);
        // An endless series is read as far as the occurrence cap reaches, not to the window's
        // end a century away.
        let to = match properties::event(&master) {
            Some(e) if e.recurrence.is_some() => e
                .pattern_starts(from, to, properties::MAX_OCCURRENCES)
                .last()
                .map(|last| e.zone().to_utc(*last) + chrono::Duration::days(1))
                .unwrap_or(to)
                .min(to),
            _ => to,
        };
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let list = format!(
            "{master_url}/instances?startDateTime={}&endDateTime={}",
            stamp(from),
            stamp(to)
        );
        let instances = match self.client().list_all(mb, list, Some(1000)).await {
            Ok(v) => v,
            Err(SourceError::ItemNotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(properties::fold_instances(
            &master, &instances, from, to,
        )))
    }

    /// The changes one calendarView delta page makes, with the series it names read whole.
    pub(super) async fn calendar_changes(
        &self,
        mb: &MailboxCtx,
        user: &str,
        entries: &[DeltaEntry],
        state: &mut CalendarState,
    ) -> Result<Vec<ItemChange>, SourceError> {
        let mut work = sort_page(entries);
        let mut changes = Vec::new();
        for i in &work.singles {
            let e = &entries[*i];
            let Some(id) = e.id.clone() else { continue };
            changes.push(ItemChange::Upsert {
                id,
                is_read: e.is_read,
                content: Some(event_content(&e.raw)?),
                search_key: None,
            });
        }
        for id in &work.removed {
            state.series.remove(id);
            changes.push(ItemChange::Delete { id: id.clone() });
        }
        if !work.removed.is_empty() {
            // A removed instance may be a deleted occurrence, or a whole series gone.
            for known in &state.series {
                if !work.series.contains(known) {
                    work.series.push(known.clone());
                }
            }
        }
        for id in work.series {
            if state.read_this_round.contains(&id) {
                continue;
            }
            state.read_this_round.insert(id.clone());
            match self.read_series(mb, user, &id).await? {
                Some(raw) => {
                    changes.push(ItemChange::Upsert {
                        id: id.clone(),
                        is_read: None,
                        content: Some(event_content(&raw)?),
                        search_key: None,
                    });
                    state.series.insert(id);
                }
                None => {
                    state.series.remove(&id);
                    changes.push(ItemChange::Delete { id });
                }
            }
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: Value) -> DeltaEntry {
        super::super::parse::parse_delta_page(&json!({"value": [v], "@odata.deltaLink": "x"}))
            .unwrap()
            .entries
            .remove(0)
    }

    #[test]
    fn a_page_is_sorted_into_singles_removals_and_series() {
        let entries = vec![
            entry(json!({"id": "single", "type": "singleInstance"})),
            entry(json!({"id": "m.1", "type": "occurrence", "seriesMasterId": "m"})),
            entry(json!({"id": "m.3", "type": "exception", "seriesMasterId": "m"})),
            entry(json!({"id": "gone", "@removed": {"reason": "deleted"}})),
            entry(json!({"id": "n", "type": "seriesMaster"})),
        ];
        let work = sort_page(&entries);
        assert_eq!(work.singles, [0]);
        assert_eq!(work.removed, ["gone"]);
        assert_eq!(work.series, ["m", "n"]);
    }

    #[test]
    fn a_state_from_before_series_were_tracked_is_its_link() {
        let old = CalendarState::parse("https://graph.example/delta?$deltatoken=abc");
        assert_eq!(old.link, "https://graph.example/delta?$deltatoken=abc");
        assert!(old.series.is_empty());
        let now = CalendarState {
            link: "l".into(),
            series: ["a".to_owned()].into(),
            ..CalendarState::default()
        };
        let back = CalendarState::parse(&now.encode().unwrap());
        assert_eq!((back.link.as_str(), back.series.len()), ("l", 1));
    }
}
