//! The mbox writer (export) and reader (import) are each other's inverse for any message, and no
//! bytes make the reader panic. Property tests (proptest).

use std::io::BufReader;

use chrono::TimeZone;
use proptest::prelude::*;
use transfer::import::MboxReader;

/// Lines real messages are made of, `From ` lines in bodies and their quoted forms included.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        "X-[A-Za-z]{1,8}: [ -~]{0,30}",
        "From [ -~]{0,20}",
        ">{1,3}From [ -~]{0,20}",
        "[ -~]{0,50}",
        "From",
        "",
    ]
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    (
        "Subject: [ -~]{0,20}",
        proptest::collection::vec(line(), 0..20),
    )
        .prop_map(|(subject, lines)| {
            let mut text = subject;
            text.push('\n');
            for line in lines {
                text.push_str(&line);
                text.push('\n');
            }
            text.into_bytes()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: testkit::corpus::cases(256), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn what_export_writes_import_reads_back(messages in proptest::collection::vec(message(), 1..6)) {
        let date = chrono::Utc.with_ymd_and_hms(2002, 8, 23, 19, 27, 52).single().unwrap_or_default();
        let mut mbox = Vec::new();
        for m in &messages {
            mbox.extend(transfer::export::mbox::message("a@example.com", date, m));
        }
        let read: Vec<Vec<u8>> = MboxReader::new(BufReader::new(mbox.as_slice()))
            .map(|m| m.map(|m| m.raw))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(read, messages);
    }

    /// mbox files of both line ends and quoting (`tests/corpus/mbox`), as they are and mutated.
    #[test]
    fn seeds_and_their_mutations_never_make_the_reader_panic(
        data in testkit::corpus::seeded(testkit::corpus::seeds(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/mbox")))
    ) {
        for message in MboxReader::new(BufReader::new(data.as_slice())) {
            if message.is_err() {
                break;
            }
        }
    }

    #[test]
    fn no_bytes_make_the_reader_panic(bytes in proptest::collection::vec(any::<u8>(), 0..800), from_first in any::<bool>()) {
        let mut data = if from_first { b"From a@x Mon Jan  1 00:00:00 2024\n".to_vec() } else { Vec::new() };
        data.extend(bytes);
        for message in MboxReader::new(BufReader::new(data.as_slice())) {
            if message.is_err() {
                break;
            }
        }
    }
}
