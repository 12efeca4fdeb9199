//! No query text, however mistyped, makes the query parser panic: it answers with a query or
//! an error a person can read. Property tests (proptest).

use proptest::prelude::*;

fn query() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("from:".to_owned()),
        Just("subject:".to_owned()),
        Just("before:".to_owned()),
        Just("after:".to_owned()),
        Just("has:".to_owned()),
        Just("folder:".to_owned()),
        Just(" AND ".to_owned()),
        Just(" OR ".to_owned()),
        Just("NOT ".to_owned()),
        Just("-".to_owned()),
        Just("\"".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        "[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}",
        "[a-z\u{e9}\u{4f60}]{1,6}",
        "\\PC{1,3}",
        " ",
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: testkit::corpus::cases(512), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_query_parses_or_says_why(text in query()) {
        if let Err(e) = search::parse_query(&text) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// Queries people write (`tests/corpus/queries.txt`), as they are and mutated.
    #[test]
    fn seed_queries_and_their_mutations_parse_or_say_why(
        text in testkit::corpus::seeded(testkit::corpus::seed_lines(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/queries.txt")))
    ) {
        if let Err(e) = search::parse_query(&String::from_utf8_lossy(&text)) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn any_text_parses_or_says_why(text in "\\PC{0,40}") {
        let _ = search::parse_query(&text);
    }
}
