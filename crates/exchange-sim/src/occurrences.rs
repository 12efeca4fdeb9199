//! The occurrences of a stored series as writes address them: EWS names one by the series' id
//! and its 1-based `InstanceIndex` in the pattern (deleted and moved occurrences counted), Graph
//! by an instance id that `GET /events/{id}/instances` hands out.
//!
//! Exchange keeps a changed occurrence as an exception of the master; the simulator keeps it the
//! iCalendar way, as a VEVENT with the occurrence's RECURRENCE-ID after the master, and a deleted
//! one as an EXDATE of the master. That is the shape the property views already read, so a later
//! sync sees what a restore wrote.

use rrule::RRuleSet;

use crate::dates;
use crate::properties::{
    events, get, ics_instant, ics_text, offset_seconds, parse_line, unfold, value,
};

/// No stored series is expanded past this many occurrences (a daily series without end).
const MAX_OCCURRENCES: u16 = 2000;

/// Why an occurrence cannot be written, in the terms of the EWS response codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OccurrenceError {
    /// The item is not a recurring master, or the index lies outside its pattern.
    OutOfRange,
    /// The occurrence was deleted from the series already.
    Deleted,
    /// A moved occurrence would reach or pass the next or previous one.
    CrossesBoundary,
}

impl OccurrenceError {
    /// EWS's response code and message text.
    pub(crate) fn ews(self) -> (&'static str, &'static str) {
        match self {
            OccurrenceError::OutOfRange => (
                "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
                "The occurrence index is out of recurrence range.",
            ),
            OccurrenceError::Deleted => (
                "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
                "Occurrence has been deleted from the recurrence.",
            ),
            OccurrenceError::CrossesBoundary => (
                "ErrorOccurrenceCrossingBoundary",
                "An occurrence cannot be moved to or before the previous occurrence, or to or after the next one.",
            ),
        }
    }
}

/// How the master's DTSTART is written, so RECURRENCE-IDs and EXDATEs match it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    Utc,
    /// Local time with the master's parameters (`;TZID=Europe/Zurich`).
    Local(String),
    Date,
}

impl Form {
    fn write(&self, name: &str, wall: i64) -> String {
        match self {
            Form::Utc => format!("{name}:{}", dates::ics_utc(wall)),
            Form::Local(params) => format!("{name}{params}:{}", dates::ics_local(wall)),
            Form::Date => format!("{name};VALUE=DATE:{}", dates::ics_date(wall)),
        }
    }
}

/// A stored series, expanded.
struct Series {
    /// Wall-clock starts of every occurrence of the pattern, in the form's own clock.
    walls: Vec<i64>,
    form: Form,
    /// Seconds east of UTC of the item's local times.
    offset: i64,
    duration: i64,
    uid: String,
    /// UTC instants of the deleted occurrences' original starts.
    deleted: Vec<i64>,
}

/// One occurrence as Graph's instances list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Instance {
    /// 1-based place in the pattern.
    pub index: usize,
    /// UTC seconds.
    pub original_start: i64,
    pub start: i64,
    pub end: i64,
    pub subject: Option<String>,
    pub location: Option<String>,
    pub is_exception: bool,
}

/// A change to one occurrence; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct OccurrenceChange {
    /// UTC seconds.
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub subject: Option<String>,
    pub location: Option<String>,
}

/// `YYYYMMDD[THHMMSS[Z]]` as seconds of its own clock.
fn wall_of(v: &str) -> Option<i64> {
    ics_instant(v.trim_end_matches('Z'), 0)
}

impl Series {
    fn read(ics: &[u8]) -> Option<Series> {
        let all = events(ics);
        let master = all.first()?;
        let rule = value(master, "RRULE");
        if rule.is_empty() {
            return None;
        }
        let dtstart = get(master, "DTSTART")?;
        let form = if dtstart.value.len() == 8 {
            Form::Date
        } else if dtstart.value.ends_with('Z') {
            Form::Utc
        } else {
            Form::Local(
                dtstart
                    .params
                    .iter()
                    .map(|(k, v)| format!(";{k}={v}"))
                    .collect(),
            )
        };
        let first = wall_of(&dtstart.value)?;
        let end = get(master, "DTEND")
            .and_then(|l| wall_of(&l.value))
            .unwrap_or(first);
        let offset = offset_seconds(&value(master, "X-MS-UTC-OFFSET"));
        // The pattern is expanded in DTSTART's own clock: a fixed offset keeps local walls apart
        // from UTC by the same amount, so expanding them as if UTC is exact.
        let rule: Vec<String> = rule
            .split(';')
            .map(|part| match part.split_once('=') {
                Some((k, v)) if k.eq_ignore_ascii_case("UNTIL") => {
                    let v = v.trim_end_matches('Z');
                    if v.len() == 8 {
                        format!("UNTIL={v}T235959Z")
                    } else {
                        format!("UNTIL={v}Z")
                    }
                }
                _ => part.to_string(),
            })
            .collect();
        let text = format!(
            "DTSTART:{}\nRRULE:{}",
            dates::ics_utc(first),
            rule.join(";")
        );
        let set: RRuleSet = text.parse().ok()?;
        let walls = set
            .all(MAX_OCCURRENCES)
            .dates
            .into_iter()
            .map(|d| d.timestamp())
            .collect();
        let deleted = master
            .iter()
            .filter(|l| l.name == "EXDATE")
            .flat_map(|l| l.value.split(',').map(str::to_string).collect::<Vec<_>>())
            .filter_map(|v| ics_instant(&v, offset))
            .collect();
        Some(Series {
            walls,
            offset,
            duration: end - first,
            uid: value(master, "UID"),
            deleted,
            form,
        })
    }

    /// A wall of the form's clock as UTC seconds.
    fn instant(&self, wall: i64) -> i64 {
        match self.form {
            Form::Utc => wall,
            Form::Local(_) | Form::Date => wall - self.offset,
        }
    }

    /// UTC seconds as a wall of the form's clock.
    fn wall(&self, instant: i64) -> i64 {
        match self.form {
            Form::Utc => instant,
            Form::Local(_) | Form::Date => instant + self.offset,
        }
    }

    /// The wall of the occurrence at 1-based `index`, if the pattern has it and it is not
    /// deleted.
    fn original(&self, index: usize) -> Result<i64, OccurrenceError> {
        let wall = *index
            .checked_sub(1)
            .and_then(|i| self.walls.get(i))
            .ok_or(OccurrenceError::OutOfRange)?;
        if self.deleted.contains(&self.instant(wall)) {
            return Err(OccurrenceError::Deleted);
        }
        Ok(wall)
    }
}

/// A run of raw lines: a whole VEVENT (with its BEGIN and END) and the original start (UTC) its
/// RECURRENCE-ID names, if any; or one line outside the events.
struct Piece {
    lines: Vec<String>,
    original: Option<i64>,
}

fn pieces(raw: Vec<String>, offset: i64) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut event: Option<Vec<String>> = None;
    for l in raw {
        let upper = l.to_ascii_uppercase();
        match event.as_mut() {
            None if upper == "BEGIN:VEVENT" => event = Some(vec![l]),
            None => out.push(Piece {
                lines: vec![l],
                original: None,
            }),
            Some(lines) => {
                lines.push(l);
                if upper == "END:VEVENT" {
                    let lines = event.take().unwrap_or_default();
                    let original = lines
                        .iter()
                        .filter_map(|x| parse_line(x))
                        .find(|x| x.name == "RECURRENCE-ID")
                        .and_then(|x| ics_instant(&x.value, offset));
                    out.push(Piece { lines, original });
                }
            }
        }
    }
    // An event never closed stays as it was written.
    out.extend(event.map(|lines| Piece {
        lines,
        original: None,
    }));
    out
}

/// The changed occurrences after the master: (original start in UTC, the lines of the event).
fn exceptions(raw: &[String], offset: i64) -> Vec<(i64, Vec<String>)> {
    pieces(raw.to_vec(), offset)
        .into_iter()
        .filter_map(|p| Some((p.original?, p.lines)))
        .collect()
}

/// The raw lines without the changed occurrence whose original start is `original` (UTC).
fn without_exception(raw: Vec<String>, original: i64, offset: i64) -> Vec<String> {
    pieces(raw, offset)
        .into_iter()
        .filter(|p| p.original != Some(original))
        .flat_map(|p| p.lines)
        .collect()
}

fn join(raw: &[String]) -> Vec<u8> {
    let mut s = raw.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

/// The occurrences of the series whose time overlaps `[from, to)` (UTC seconds), deleted ones
/// left out, changed ones where they were moved to. `None` when the item is not a series.
pub(crate) fn instances(ics: &[u8], from: i64, to: i64) -> Option<Vec<Instance>> {
    let series = Series::read(ics)?;
    let raw = unfold(ics);
    let changed = exceptions(&raw, series.offset);
    let mut out = Vec::new();
    for (i, wall) in series.walls.iter().enumerate() {
        let original = series.instant(*wall);
        if series.deleted.contains(&original) {
            continue;
        }
        let mut inst = Instance {
            index: i + 1,
            original_start: original,
            start: original,
            end: original + series.duration,
            subject: None,
            location: None,
            is_exception: false,
        };
        if let Some((_, block)) = changed.iter().find(|(o, _)| *o == original) {
            let lines: Vec<_> = block.iter().filter_map(|b| parse_line(b)).collect();
            let at =
                |name: &str| get(&lines, name).and_then(|l| ics_instant(&l.value, series.offset));
            inst.start = at("DTSTART").unwrap_or(inst.start);
            inst.end = at("DTEND").unwrap_or(inst.start + series.duration);
            inst.subject = get(&lines, "SUMMARY").map(|l| l.value.clone());
            inst.location = get(&lines, "LOCATION").map(|l| l.value.clone());
            inst.is_exception = true;
        }
        if inst.start < to && inst.end > from {
            out.push(inst);
        }
    }
    Some(out)
}

/// The 1-based places of the series' deleted occurrences whose original start lies in
/// `[from, to)` (UTC seconds).
pub(crate) fn deleted_indexes(ics: &[u8], from: i64, to: i64) -> Vec<usize> {
    let Some(series) = Series::read(ics) else {
        return Vec::new();
    };
    series
        .walls
        .iter()
        .enumerate()
        .filter(|(_, w)| {
            let at = series.instant(**w);
            at >= from && at < to && series.deleted.contains(&at)
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// Deletes the occurrence at 1-based `index`: an EXDATE on the master, and its change, if it
/// had one, gone.
pub(crate) fn delete(ics: &[u8], index: usize) -> Result<Vec<u8>, OccurrenceError> {
    let series = Series::read(ics).ok_or(OccurrenceError::OutOfRange)?;
    let wall = series.original(index)?;
    let raw = without_exception(unfold(ics), series.instant(wall), series.offset);
    let mut out = Vec::with_capacity(raw.len() + 1);
    let mut added = false;
    for l in raw {
        if !added && l.eq_ignore_ascii_case("END:VEVENT") {
            out.push(series.form.write("EXDATE", wall));
            added = true;
        }
        out.push(l);
    }
    Ok(join(&out))
}

/// Changes the occurrence at 1-based `index` (its time, subject, location), keeping what an
/// earlier change set and this one does not.
pub(crate) fn modify(
    ics: &[u8],
    index: usize,
    change: &OccurrenceChange,
) -> Result<Vec<u8>, OccurrenceError> {
    let series = Series::read(ics).ok_or(OccurrenceError::OutOfRange)?;
    let wall = series.original(index)?;
    let original = series.instant(wall);
    let current = instances(ics, i64::MIN, i64::MAX).unwrap_or_default();
    let here = current.iter().find(|i| i.index == index);
    let start = change.start.or(here.map(|i| i.start)).unwrap_or(original);
    let end = change
        .end
        .or(here.map(|i| i.end))
        .unwrap_or(start + series.duration)
        .max(start);
    // Outlook's rule: an occurrence stays between its neighbours.
    let before = current.iter().rev().find(|i| i.index < index);
    let after = current.iter().find(|i| i.index > index);
    if before.is_some_and(|b| start <= b.start) || after.is_some_and(|a| start >= a.start) {
        return Err(OccurrenceError::CrossesBoundary);
    }
    let subject = change
        .subject
        .clone()
        .or_else(|| here.and_then(|i| i.subject.clone()));
    let location = change
        .location
        .clone()
        .or_else(|| here.and_then(|i| i.location.clone()));
    let raw = without_exception(unfold(ics), original, series.offset);
    let mut block = vec![
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}", ics_text(&series.uid)),
        series.form.write("RECURRENCE-ID", wall),
        series.form.write("DTSTART", series.wall(start)),
        series.form.write("DTEND", series.wall(end)),
    ];
    if let Some(s) = subject {
        block.push(format!("SUMMARY:{}", ics_text(&s)));
    }
    if let Some(l) = location {
        block.push(format!("LOCATION:{}", ics_text(&l)));
    }
    block.push("END:VEVENT".to_string());
    let mut out = Vec::with_capacity(raw.len() + block.len());
    let mut added = false;
    for l in raw {
        if !added && l.eq_ignore_ascii_case("END:VCALENDAR") {
            out.append(&mut block);
            added = true;
        }
        out.push(l);
    }
    if !added {
        out.append(&mut block);
    }
    Ok(join(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIES: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:u-1\r\n\
DTSTART;TZID=Europe/Zurich:20250908T100000\r\nDTEND;TZID=Europe/Zurich:20250908T110000\r\n\
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6\r\nSUMMARY:Weekly\r\nX-MS-UTC-OFFSET:+02:00\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn at(s: &str) -> i64 {
        dates::parse_xs(s).unwrap()
    }

    #[test]
    fn an_index_names_a_place_in_the_pattern_and_writes_land_there() {
        let all = instances(SERIES.as_bytes(), i64::MIN, i64::MAX).unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(all[2].original_start, at("2025-09-22T08:00:00Z"));

        let moved = modify(
            SERIES.as_bytes(),
            3,
            &OccurrenceChange {
                start: Some(at("2025-09-23T12:00:00Z")),
                end: Some(at("2025-09-23T13:00:00Z")),
                location: Some("Room 1.01".into()),
                ..OccurrenceChange::default()
            },
        )
        .unwrap();
        let text = String::from_utf8_lossy(&moved);
        assert!(
            text.contains("RECURRENCE-ID;TZID=Europe/Zurich:20250922T100000"),
            "{text}"
        );
        assert!(
            text.contains("DTSTART;TZID=Europe/Zurich:20250923T140000"),
            "{text}"
        );
        // Index 4 still names 29 September: a moved occurrence keeps its place.
        let gone = delete(&moved, 4).unwrap();
        let text = String::from_utf8_lossy(&gone);
        assert!(
            text.contains("EXDATE;TZID=Europe/Zurich:20250929T100000"),
            "{text}"
        );
        let left = instances(&gone, i64::MIN, i64::MAX).unwrap();
        assert_eq!(left.len(), 5);
        assert!(left
            .iter()
            .any(|i| i.is_exception && i.start == at("2025-09-23T12:00:00Z")));

        assert_eq!(delete(&gone, 4), Err(OccurrenceError::Deleted));
        assert_eq!(delete(&gone, 7), Err(OccurrenceError::OutOfRange));
        assert_eq!(delete(&gone, 0), Err(OccurrenceError::OutOfRange));
        let past_next = OccurrenceChange {
            start: Some(at("2025-10-06T08:00:00Z")),
            ..OccurrenceChange::default()
        };
        assert_eq!(
            modify(&gone, 2, &past_next),
            Err(OccurrenceError::CrossesBoundary)
        );
    }
}
