//! A series as Outlook stores it in a PST: the binary `PidLidAppointmentRecur`
//! (MS-OXOCAL 2.2.1.44: a RecurrencePattern, then the appointment's part with its exceptions),
//! read into the `pim` recurrence, changed occurrences and deleted occurrences.
//!
//! Every time in the blob is local to the appointment's zone, in minutes since 1601-01-01.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use pim::{Day, EventException, Pattern, Range, Recurrence, WeekIndex};

/// What the blob says of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Series {
    pub recurrence: Recurrence,
    /// Minutes after midnight the occurrences start and end.
    pub start_offset: i64,
    pub end_offset: i64,
    pub exceptions: Vec<EventException>,
    /// Original starts of occurrences deleted outright (not those moved by an exception).
    pub deleted: Vec<NaiveDateTime>,
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.data.len());
        let end = end.ok_or_else(|| format!("the series ends early (at byte {})", self.at))?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A block whose size comes first (the reserved blocks): skipped.
    fn skip_sized(&mut self) -> Result<(), String> {
        let n = self.u32()? as usize;
        self.take(n).map(|_| ())
    }
}

/// Minutes since 1601-01-01 as a local date and time.
fn local(minutes: u32) -> Option<NaiveDateTime> {
    let epoch = NaiveDate::from_ymd_opt(1601, 1, 1)?.and_hms_opt(0, 0, 0)?;
    epoch.checked_add_signed(Duration::minutes(i64::from(minutes)))
}

/// The weekday bits of the pattern (bit 0 Sunday, bit 1 Monday ... bit 6 Saturday), listed
/// Monday first as the rest of the archive lists them.
fn days(bits: u32) -> Vec<Day> {
    Day::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << ((i + 1) % 7)) != 0)
        .map(|(_, d)| *d)
        .collect()
}

fn first_day(n: u32) -> Day {
    match n {
        0 => Day::Sunday,
        2 => Day::Tuesday,
        3 => Day::Wednesday,
        4 => Day::Thursday,
        5 => Day::Friday,
        6 => Day::Saturday,
        _ => Day::Monday,
    }
}

fn week_index(n: u32) -> WeekIndex {
    match n {
        1 => WeekIndex::First,
        2 => WeekIndex::Second,
        3 => WeekIndex::Third,
        4 => WeekIndex::Fourth,
        _ => WeekIndex::Last,
    }
}

/// A string of the exception's ANSI part: the length twice, then the bytes.
fn ansi(r: &mut Reader<'_>) -> Result<String, String> {
    let _ = r.u16()?;
    let n = r.u16()? as usize;
    let bytes = r.take(n)?;
    Ok(encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned())
}

fn wide(r: &mut Reader<'_>) -> Result<String, String> {
    let n = r.u16()? as usize;
    let bytes = r.take(n * 2)?;
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    Ok(String::from_utf16_lossy(&units))
}

const ARO_SUBJECT: u16 = 0x0001;
const ARO_MEETINGTYPE: u16 = 0x0002;
const ARO_REMINDERDELTA: u16 = 0x0004;
const ARO_REMINDER: u16 = 0x0008;
const ARO_LOCATION: u16 = 0x0010;
const ARO_BUSYSTATUS: u16 = 0x0020;
const ARO_ATTACHMENT: u16 = 0x0040;
const ARO_SUBTYPE: u16 = 0x0080;
const ARO_APPTCOLOR: u16 = 0x0100;

/// Reads `PidLidAppointmentRecur`. An error says what is wrong with the blob; the caller keeps
/// the appointment as a single event then and reports why.
pub(super) fn parse(data: &[u8]) -> Result<Series, String> {
    let r = &mut Reader { data, at: 0 };
    let _reader_version = r.u16()?;
    let _writer_version = r.u16()?;
    let frequency = r.u16()?;
    let pattern_type = r.u16()?;
    let calendar_type = r.u16()?;
    let _first_date_time = r.u32()?;
    let period = r.u32()?;
    let _sliding = r.u32()?;
    if calendar_type != 0 && calendar_type != 1 {
        return Err(format!(
            "its series uses a non-Gregorian calendar (type {calendar_type})"
        ));
    }
    let (specific, nth) = match pattern_type {
        0x0000 => (0, 0),
        0x0001 | 0x0002 | 0x0004 | 0x000A | 0x000C => (r.u32()?, 0),
        0x0003 | 0x000B => (r.u32()?, r.u32()?),
        other => {
            return Err(format!(
                "its series has an unknown pattern type {other:#06x}"
            ))
        }
    };
    let end_type = r.u32()?;
    let count = r.u32()?;
    let first_dow = r.u32()?;
    let deleted_count = r.u32()? as usize;
    let mut deleted_dates = Vec::new();
    for _ in 0..deleted_count.min(data.len() / 4) {
        deleted_dates.push(r.u32()?);
    }
    let modified_count = r.u32()? as usize;
    for _ in 0..modified_count.min(data.len() / 4) {
        r.u32()?;
    }
    let start_date = local(r.u32()?).ok_or("its series starts at an impossible date")?;
    let end_date = local(r.u32()?).ok_or("its series ends at an impossible date")?;
    let start = start_date.date();

    // The appointment's part.
    let _reader_version2 = r.u32()?;
    let writer_version2 = r.u32()?;
    let start_offset = i64::from(r.u32()?);
    let end_offset = i64::from(r.u32()?);
    let exception_count = r.u16()? as usize;
    let mut infos = Vec::new();
    for _ in 0..exception_count {
        let start = r.u32()?;
        let end = r.u32()?;
        let original = r.u32()?;
        let flags = r.u16()?;
        let mut subject = None;
        let mut location = None;
        if flags & ARO_SUBJECT != 0 {
            subject = Some(ansi(r)?);
        }
        for flag in [ARO_MEETINGTYPE, ARO_REMINDERDELTA, ARO_REMINDER] {
            if flags & flag != 0 {
                r.u32()?;
            }
        }
        if flags & ARO_LOCATION != 0 {
            location = Some(ansi(r)?);
        }
        for flag in [ARO_BUSYSTATUS, ARO_ATTACHMENT, ARO_SUBTYPE, ARO_APPTCOLOR] {
            if flags & flag != 0 {
                r.u32()?;
            }
        }
        infos.push((start, end, original, flags, subject, location));
    }
    // The extended part repeats subject and location in UTF-16; a writer may leave it out.
    if r.skip_sized().is_ok() {
        for info in infos.iter_mut() {
            let parsed = (|| -> Result<(), String> {
                if writer_version2 >= 0x3009 {
                    r.skip_sized()?;
                }
                r.skip_sized()?;
                if info.3 & (ARO_SUBJECT | ARO_LOCATION) != 0 {
                    r.take(12)?;
                    if info.3 & ARO_SUBJECT != 0 {
                        info.4 = Some(wide(r)?);
                    }
                    if info.3 & ARO_LOCATION != 0 {
                        info.5 = Some(wide(r)?);
                    }
                    r.skip_sized()?;
                }
                Ok(())
            })();
            if parsed.is_err() {
                break;
            }
        }
    }

    let interval = match (frequency, pattern_type) {
        (0x200A, 0x0000) => (period / 1440).max(1),
        (0x200D, _) => (period / 12).max(1),
        _ => period.max(1),
    };
    let pattern = match (frequency, pattern_type) {
        (0x200A, 0x0000) => Pattern::Daily,
        // "Every weekday" is a daily frequency with a week pattern.
        (0x200A | 0x200B, 0x0001) => Pattern::Weekly {
            days: days(specific),
        },
        (0x200C, 0x0002 | 0x0004 | 0x000A | 0x000C) => Pattern::AbsoluteMonthly {
            day_of_month: specific.clamp(1, 31),
        },
        (0x200C, 0x0003 | 0x000B) => Pattern::RelativeMonthly {
            days: days(specific),
            index: week_index(nth),
        },
        (0x200D, 0x0002 | 0x0004 | 0x000A | 0x000C) => Pattern::AbsoluteYearly {
            month: start.month(),
            day_of_month: specific.clamp(1, 31),
        },
        (0x200D, 0x0003 | 0x000B) => Pattern::RelativeYearly {
            month: start.month(),
            days: days(specific),
            index: week_index(nth),
        },
        (f, p) => {
            return Err(format!(
                "its series has frequency {f:#06x} with pattern type {p:#06x}, which Outlook does not write"
            ))
        }
    };
    let range = match end_type {
        0x2021 => Range::EndDate {
            start,
            end: end_date.date(),
        },
        0x2022 => Range::Numbered {
            start,
            count: count.max(1),
        },
        _ => Range::NoEnd { start },
    };
    let exceptions: Vec<EventException> = infos
        .into_iter()
        .filter_map(|(start, end, original, _, subject, location)| {
            Some(EventException {
                original_start: local(original)?,
                start: local(start)?,
                end: local(end)?,
                subject,
                location,
            })
        })
        .collect();
    let deleted = deleted_dates
        .into_iter()
        .filter_map(local)
        .map(|d| d.date())
        .filter(|d| !exceptions.iter().any(|x| x.original_start.date() == *d))
        .map(|d| d.and_time(chrono::NaiveTime::MIN) + Duration::minutes(start_offset))
        .collect();
    Ok(Series {
        recurrence: Recurrence {
            pattern,
            interval,
            first_day_of_week: first_day(first_dow),
            range,
        },
        start_offset,
        end_offset,
        exceptions,
        deleted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(y: i32, m: u32, d: u32, h: u32, min: u32) -> u32 {
        let epoch = NaiveDate::from_ymd_opt(1601, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let t = NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap();
        u32::try_from((t - epoch).num_minutes()).unwrap()
    }

    /// A weekly Monday series at 09:00 for six weeks from 1 September 2025, the 15th deleted and
    /// the 22nd moved to 14:00 with a subject of its own, written as MS-OXOCAL lays it out.
    fn weekly_blob(writer_version2: u32) -> Vec<u8> {
        let mut b = Vec::new();
        let u16 = |b: &mut Vec<u8>, v: u16| b.extend_from_slice(&v.to_le_bytes());
        let u32 = |b: &mut Vec<u8>, v: u32| b.extend_from_slice(&v.to_le_bytes());
        u16(&mut b, 0x3004);
        u16(&mut b, 0x3004);
        u16(&mut b, 0x200B);
        u16(&mut b, 0x0001);
        u16(&mut b, 0);
        u32(&mut b, 0); // FirstDateTime
        u32(&mut b, 1); // every week
        u32(&mut b, 0);
        u32(&mut b, 0b10); // Monday
        u32(&mut b, 0x2022);
        u32(&mut b, 6);
        u32(&mut b, 1);
        u32(&mut b, 2);
        u32(&mut b, minutes(2025, 9, 15, 0, 0));
        u32(&mut b, minutes(2025, 9, 22, 0, 0));
        u32(&mut b, 1);
        u32(&mut b, minutes(2025, 9, 22, 0, 0));
        u32(&mut b, minutes(2025, 9, 1, 0, 0));
        u32(&mut b, minutes(2025, 10, 6, 0, 0));
        u32(&mut b, 0x3006);
        u32(&mut b, writer_version2);
        u32(&mut b, 9 * 60);
        u32(&mut b, 9 * 60 + 30);
        u16(&mut b, 1);
        u32(&mut b, minutes(2025, 9, 22, 14, 0));
        u32(&mut b, minutes(2025, 9, 22, 14, 30));
        u32(&mut b, minutes(2025, 9, 22, 9, 0));
        u16(&mut b, ARO_SUBJECT);
        u16(&mut b, 10);
        u16(&mut b, 9);
        b.extend_from_slice(b"Late talk");
        u32(&mut b, 0); // ReservedBlock1
        if writer_version2 >= 0x3009 {
            u32(&mut b, 4);
            u32(&mut b, 0);
        }
        u32(&mut b, 0); // ReservedBlockEE1
        u32(&mut b, minutes(2025, 9, 22, 14, 0));
        u32(&mut b, minutes(2025, 9, 22, 14, 30));
        u32(&mut b, minutes(2025, 9, 22, 9, 0));
        let wide: Vec<u16> = "Späte Runde".encode_utf16().collect();
        u16(&mut b, wide.len() as u16);
        for w in wide {
            u16(&mut b, w);
        }
        u32(&mut b, 0); // ReservedBlockEE2
        u32(&mut b, 0); // ReservedBlock2
        b
    }

    fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2025, 9, d)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn a_weekly_series_with_a_deletion_and_a_moved_occurrence() {
        for version in [0x3008, 0x3009] {
            let s = parse(&weekly_blob(version)).unwrap();
            assert_eq!(
                s.recurrence,
                Recurrence {
                    pattern: Pattern::Weekly {
                        days: vec![Day::Monday]
                    },
                    interval: 1,
                    first_day_of_week: Day::Monday,
                    range: Range::Numbered {
                        start: NaiveDate::from_ymd_opt(2025, 9, 1).unwrap(),
                        count: 6
                    },
                }
            );
            assert_eq!((s.start_offset, s.end_offset), (540, 570));
            assert_eq!(
                s.deleted,
                vec![at(15, 9, 0)],
                "the moved one is no deletion"
            );
            assert_eq!(
                s.exceptions,
                vec![EventException {
                    original_start: at(22, 9, 0),
                    start: at(22, 14, 0),
                    end: at(22, 14, 30),
                    // The UTF-16 subject wins over the ANSI one.
                    subject: Some("Späte Runde".into()),
                    location: None,
                }]
            );
        }
    }

    #[test]
    fn a_cut_blob_is_an_error_not_a_panic() {
        let blob = weekly_blob(0x3009);
        for n in 0..70 {
            assert!(parse(&blob[..n]).is_err(), "{n} bytes");
        }
        assert!(parse(&[0xFF; 200]).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: testkit::corpus::cases(256), failure_persistence: None, ..Default::default() })]

        /// A PST's bytes are outside input: no blob makes the reader panic, whether random or a
        /// valid series with a byte changed and its end cut.
        #[test]
        fn no_blob_makes_it_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse(&data);
        }

        #[test]
        fn no_damaged_series_makes_it_panic(
            at in 0usize..200,
            byte in proptest::prelude::any::<u8>(),
            cut in 0usize..200,
            version in proptest::prop_oneof![proptest::strategy::Just(0x3008u32), proptest::strategy::Just(0x3009u32)],
        ) {
            let mut blob = weekly_blob(version);
            let n = blob.len();
            blob[at % n] = byte;
            blob.truncate(n - cut % n);
            if let Ok(series) = parse(&blob) {
                // Whatever it read expands without a panic too.
                let _ = series.recurrence.to_rrule(pim::Zone::UTC);
            }
        }
    }

    #[test]
    fn every_weekday_and_the_second_tuesday_of_a_month() {
        let mut blob = weekly_blob(0x3009);
        // Daily frequency, week pattern, Monday to Friday.
        blob[4..6].copy_from_slice(&0x200Au16.to_le_bytes());
        blob[22..26].copy_from_slice(&0b0111110u32.to_le_bytes());
        let s = parse(&blob).unwrap();
        assert_eq!(
            s.recurrence.pattern,
            Pattern::Weekly {
                days: vec![
                    Day::Monday,
                    Day::Tuesday,
                    Day::Wednesday,
                    Day::Thursday,
                    Day::Friday
                ]
            }
        );
    }
}
