//! No body an agent sends makes the submission reader panic, and whatever it accepts is a
//! submission it accepts again once written back. Property tests (proptest).

use legacy::Submission;
use proptest::prelude::*;

fn folder_id() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["f1", "f2", "f3", "", "x"]).prop_map(str::to_owned)
}

fn body() -> impl Strategy<Value = serde_json::Value> {
    let folder = (folder_id(), prop::option::of(folder_id()), "[ -~]{0,10}").prop_map(
        |(id, parent, name)| serde_json::json!({"id": id, "parent_id": parent, "name": name}),
    );
    let message = (
        folder_id(),
        "<?[a-z0-9@.]{0,12}>?",
        prop::option::of(prop::sample::select(vec!["2019-03-01T10:00:00Z", "yesterday", ""])),
        any::<bool>(),
    )
        .prop_map(|(folder, id, sent, read)| {
            serde_json::json!({"folder_id": folder, "internet_message_id": id, "sent_at": sent, "is_read": read})
        });
    (
        "[ -~]{0,8}",
        prop::sample::select(vec!["alice@example.com", "not an address", ""]),
        prop::collection::vec(folder, 0..5),
        prop::collection::vec(message, 0..8),
    )
        .prop_map(|(id, mailbox, folders, messages)| {
            serde_json::json!({"submission_id": id, "mailbox": mailbox, "folders": folders, "messages": messages})
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: testkit::corpus::cases(256), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_bytes_make_the_reader_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Submission::parse(&bytes);
    }

    #[test]
    fn what_is_accepted_is_accepted_again(value in body()) {
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        match Submission::parse(&bytes) {
            Ok(submission) => {
                let again = serde_json::to_vec(&submission).unwrap_or_default();
                prop_assert_eq!(Submission::parse(&again).ok(), Some(submission));
            }
            Err(refusal) => {
                prop_assert!(refusal.count >= 1);
                prop_assert!(refusal.problems.len() == refusal.count.min(20));
            }
        }
    }
}
