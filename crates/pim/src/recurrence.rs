//! A series as Exchange describes it: a pattern (EWS `t:Recurrence`, Graph `recurrence.pattern`;
//! both carry the same six kinds) and a range. [`Recurrence::to_rrule`] writes it as an RFC 5545
//! rule, which the expansion runs and ICS export will write.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::zones::Zone;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Day {
    pub const ALL: [Day; 7] = [
        Day::Monday,
        Day::Tuesday,
        Day::Wednesday,
        Day::Thursday,
        Day::Friday,
        Day::Saturday,
        Day::Sunday,
    ];

    /// From an EWS or Graph day name ("Monday", "monday").
    pub fn parse(s: &str) -> Option<Day> {
        Day::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s.trim()))
    }

    pub fn name(self) -> &'static str {
        match self {
            Day::Monday => "Monday",
            Day::Tuesday => "Tuesday",
            Day::Wednesday => "Wednesday",
            Day::Thursday => "Thursday",
            Day::Friday => "Friday",
            Day::Saturday => "Saturday",
            Day::Sunday => "Sunday",
        }
    }

    fn ical(self) -> &'static str {
        match self {
            Day::Monday => "MO",
            Day::Tuesday => "TU",
            Day::Wednesday => "WE",
            Day::Thursday => "TH",
            Day::Friday => "FR",
            Day::Saturday => "SA",
            Day::Sunday => "SU",
        }
    }

    /// EWS also names sets of days in `DaysOfWeek` ("Weekday", "WeekendDay", "Day").
    pub fn parse_list(s: &str) -> Vec<Day> {
        let mut out = Vec::new();
        for word in s.split([' ', ',']).filter(|w| !w.is_empty()) {
            match word.to_ascii_lowercase().as_str() {
                "weekday" => out.extend(&Day::ALL[..5]),
                "weekendday" => out.extend(&Day::ALL[5..]),
                "day" => out.extend(Day::ALL),
                _ => out.extend(Day::parse(word)),
            }
        }
        out.dedup();
        out
    }
}

/// Which week of the month a relative pattern means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeekIndex {
    First,
    Second,
    Third,
    Fourth,
    Last,
}

impl WeekIndex {
    pub fn parse(s: &str) -> Option<WeekIndex> {
        match s.trim().to_ascii_lowercase().as_str() {
            "first" => Some(WeekIndex::First),
            "second" => Some(WeekIndex::Second),
            "third" => Some(WeekIndex::Third),
            "fourth" => Some(WeekIndex::Fourth),
            "last" => Some(WeekIndex::Last),
            _ => None,
        }
    }

    fn setpos(self) -> i32 {
        match self {
            WeekIndex::First => 1,
            WeekIndex::Second => 2,
            WeekIndex::Third => 3,
            WeekIndex::Fourth => 4,
            WeekIndex::Last => -1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pattern {
    Daily,
    Weekly {
        days: Vec<Day>,
    },
    AbsoluteMonthly {
        day_of_month: u32,
    },
    RelativeMonthly {
        days: Vec<Day>,
        index: WeekIndex,
    },
    AbsoluteYearly {
        month: u32,
        day_of_month: u32,
    },
    RelativeYearly {
        month: u32,
        days: Vec<Day>,
        index: WeekIndex,
    },
}

/// How long a series runs. Dates are local to the event's zone; an end date is inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Range {
    NoEnd { start: NaiveDate },
    EndDate { start: NaiveDate, end: NaiveDate },
    Numbered { start: NaiveDate, count: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurrence {
    pub pattern: Pattern,
    /// Every n-th day, week, month or year; at least 1.
    pub interval: u32,
    pub first_day_of_week: Day,
    pub range: Range,
}

impl Recurrence {
    /// The rule as RFC 5545 writes it, for a series whose first occurrence starts at `start`
    /// (local, in `zone`).
    pub fn to_rrule(&self, zone: Zone) -> String {
        let days = |d: &[Day]| d.iter().map(|d| d.ical()).collect::<Vec<_>>().join(",");
        let mut parts = vec![];
        match &self.pattern {
            Pattern::Daily => parts.push("FREQ=DAILY".to_string()),
            Pattern::Weekly { days: d } => {
                parts.push("FREQ=WEEKLY".into());
                if !d.is_empty() {
                    parts.push(format!("BYDAY={}", days(d)));
                }
            }
            Pattern::AbsoluteMonthly { day_of_month } => {
                parts.push("FREQ=MONTHLY".into());
                parts.push(format!("BYMONTHDAY={day_of_month}"));
            }
            Pattern::RelativeMonthly { days: d, index } => {
                parts.push("FREQ=MONTHLY".into());
                parts.push(format!("BYDAY={}", days(d)));
                parts.push(format!("BYSETPOS={}", index.setpos()));
            }
            Pattern::AbsoluteYearly {
                month,
                day_of_month,
            } => {
                parts.push("FREQ=YEARLY".into());
                parts.push(format!("BYMONTH={month}"));
                parts.push(format!("BYMONTHDAY={day_of_month}"));
            }
            Pattern::RelativeYearly {
                month,
                days: d,
                index,
            } => {
                parts.push("FREQ=YEARLY".into());
                parts.push(format!("BYMONTH={month}"));
                parts.push(format!("BYDAY={}", days(d)));
                parts.push(format!("BYSETPOS={}", index.setpos()));
            }
        }
        parts.push(format!("INTERVAL={}", self.interval.max(1)));
        parts.push(format!("WKST={}", self.first_day_of_week.ical()));
        match &self.range {
            Range::NoEnd { .. } => {}
            Range::Numbered { count, .. } => parts.push(format!("COUNT={}", (*count).max(1))),
            Range::EndDate { end, .. } => {
                // The last day counts whole: until its last second, local, written in UTC.
                let last = NaiveDateTime::new(
                    *end,
                    NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default(),
                );
                let until = zone.to_utc(last);
                parts.push(format!("UNTIL={}", until.format("%Y%m%dT%H%M%SZ")));
            }
        }
        parts.join(";")
    }

    pub fn start_date(&self) -> NaiveDate {
        match &self.range {
            Range::NoEnd { start }
            | Range::EndDate { start, .. }
            | Range::Numbered { start, .. } => *start,
        }
    }

    /// "Every 2 weeks on Monday, Wednesday until 30 June 2026", for a reader.
    pub fn describe(&self) -> String {
        let n = self.interval.max(1);
        let every = |unit: &str| {
            if n == 1 {
                format!("Every {unit}")
            } else {
                format!("Every {n} {unit}s")
            }
        };
        let list = |d: &[Day]| d.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ");
        let idx = |i: &WeekIndex| format!("{i:?}").to_lowercase();
        let mut s = match &self.pattern {
            Pattern::Daily => every("day"),
            Pattern::Weekly { days } => format!("{} on {}", every("week"), list(days)),
            Pattern::AbsoluteMonthly { day_of_month } => {
                format!("{} on day {day_of_month}", every("month"))
            }
            Pattern::RelativeMonthly { days, index } => {
                format!("{} on the {} {}", every("month"), idx(index), list(days))
            }
            Pattern::AbsoluteYearly {
                month,
                day_of_month,
            } => format!("{} on {day_of_month} {}", every("year"), month_name(*month)),
            Pattern::RelativeYearly { month, days, index } => format!(
                "{} on the {} {} of {}",
                every("year"),
                idx(index),
                list(days),
                month_name(*month)
            ),
        };
        match &self.range {
            Range::NoEnd { .. } => {}
            Range::EndDate { end, .. } => {
                s.push_str(&format!(
                    " until {} {} {}",
                    end.day(),
                    month_name(end.month()),
                    end.year()
                ));
            }
            Range::Numbered { count, .. } => s.push_str(&format!(", {count} times")),
        }
        s
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The month number of an English month name ("March", as EWS writes it).
pub fn month_from_name(name: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name.trim()))
        .map(|i| i as u32 + 1)
}

fn month_name(m: u32) -> &'static str {
    MONTHS
        .get((m as usize).wrapping_sub(1))
        .copied()
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ews_day_sets() {
        assert_eq!(
            Day::parse_list("Monday Wednesday"),
            vec![Day::Monday, Day::Wednesday]
        );
        assert_eq!(Day::parse_list("Weekday").len(), 5);
        assert_eq!(
            Day::parse_list("WeekendDay"),
            vec![Day::Saturday, Day::Sunday]
        );
    }

    #[test]
    fn rules_as_rfc5545_writes_them() {
        let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let r = Recurrence {
            pattern: Pattern::RelativeMonthly {
                days: vec![Day::Tuesday],
                index: WeekIndex::Last,
            },
            interval: 1,
            first_day_of_week: Day::Monday,
            range: Range::Numbered { start, count: 6 },
        };
        assert_eq!(
            r.to_rrule(Zone::UTC),
            "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=-1;INTERVAL=1;WKST=MO;COUNT=6"
        );
        let r = Recurrence {
            pattern: Pattern::Weekly {
                days: vec![Day::Monday],
            },
            interval: 2,
            first_day_of_week: Day::Sunday,
            range: Range::EndDate {
                start,
                end: NaiveDate::from_ymd_opt(2026, 6, 29).unwrap(),
            },
        };
        assert_eq!(
            r.to_rrule(Zone(chrono_tz::Europe::Zurich)),
            "FREQ=WEEKLY;BYDAY=MO;INTERVAL=2;WKST=SU;UNTIL=20260629T215959Z"
        );
        assert_eq!(r.describe(), "Every 2 weeks on Monday until 29 June 2026");
    }
}
