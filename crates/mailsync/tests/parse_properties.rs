//! Whatever a server answers, the EWS and Graph readers give a result or an error, never a
//! panic: arbitrary bytes as a SOAP envelope, well-formed envelopes with arbitrary elements and
//! text where the items and folders go, and arbitrary JSON as Graph pages and batches.
//! Property tests (proptest).

use mailsync::ews::parse::{
    parse_envelope, parse_get_folder, parse_get_item, parse_sync_folder_hierarchy,
    parse_sync_folder_items, Envelope,
};
use mailsync::graph::parse::{parse_batch, parse_delta_page, parse_error};
use proptest::prelude::*;
use serde_json::Value;

/// Element names EWS answers are made of, and some it never sends.
fn name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "m:ResponseMessages",
        "m:SyncFolderItemsResponseMessage",
        "m:SyncFolderHierarchyResponseMessage",
        "m:GetItemResponseMessage",
        "m:GetFolderResponseMessage",
        "m:ResponseCode",
        "m:MessageText",
        "m:SyncState",
        "m:IncludesLastItemInRange",
        "m:Changes",
        "m:Items",
        "m:Folders",
        "t:Create",
        "t:Update",
        "t:Delete",
        "t:ReadFlagChange",
        "t:Message",
        "t:Folder",
        "t:ItemId",
        "t:FolderId",
        "t:ParentFolderId",
        "t:DisplayName",
        "t:MimeContent",
        "t:IsRead",
        "t:Unknown",
    ])
}

fn element() -> impl Strategy<Value = String> {
    let leaf = ("[ -~]{0,12}", name(), prop::option::of("[A-Za-z0-9=]{0,8}")).prop_map(
        |(text, name, id)| {
            let text = text.replace(['<', '&'], "");
            match id {
                Some(id) => format!("<{name} Id=\"{id}\" ResponseClass=\"{id}\">{text}</{name}>"),
                None => format!("<{name}>{text}</{name}>"),
            }
        },
    );
    leaf.prop_recursive(4, 32, 6, |inner| {
        (name(), prop::collection::vec(inner, 0..6))
            .prop_map(|(name, children)| format!("<{name}>{}</{name}>", children.concat()))
    })
}

fn envelope(body: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" \
         xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><s:Body>\
         <m:AnyResponse>{body}</m:AnyResponse></s:Body></s:Envelope>"
    )
    .into_bytes()
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop::sample::select(vec![
            "value",
            "@odata.deltaLink",
            "@odata.nextLink",
            "@removed",
            "id",
            "responses",
            "status",
            "body",
            "headers",
            "error",
            "code",
            "message",
            "parentFolderId",
            "displayName",
            "isRead",
            "Retry-After",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..6).prop_map(|pairs| {
                Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: testkit::corpus::cases(256), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_bytes_make_the_envelope_reader_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_envelope(&bytes);
        let _ = mailsync::xml::parse(&bytes);
    }

    #[test]
    fn no_envelope_makes_the_ews_readers_panic(body in prop::collection::vec(element(), 0..4)) {
        let xml = envelope(&body.concat());
        let envelope = parse_envelope(&xml);
        prop_assert!(envelope.is_ok(), "a well-formed envelope is read: {envelope:?}");
        if let Ok(Envelope::Body { response, .. }) = envelope {
            let _ = parse_sync_folder_items(&response);
            let _ = parse_sync_folder_hierarchy(&response);
            let _ = parse_get_item(&response);
            let _ = parse_get_folder(&response);
        }
    }

    /// Microsoft's sample answers (`tests/fixtures/ews-samples`), as they are and mutated.
    #[test]
    fn ews_samples_and_their_mutations_never_panic(
        bytes in testkit::corpus::seeded(testkit::corpus::seeds(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ews-samples")))
    ) {
        if let Ok(Envelope::Body { response, .. }) = parse_envelope(&bytes) {
            let _ = parse_sync_folder_items(&response);
            let _ = parse_sync_folder_hierarchy(&response);
            let _ = parse_get_item(&response);
            let _ = parse_get_folder(&response);
        }
    }

    /// Microsoft's sample Graph pages (`tests/fixtures/graph-samples`), as they are and mutated.
    #[test]
    fn graph_samples_and_their_mutations_never_panic(
        bytes in testkit::corpus::seeded(testkit::corpus::seeds(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/graph-samples")))
    ) {
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            let _ = parse_delta_page(&value);
            let _ = parse_batch(&value);
            let _ = parse_error(&value);
        }
    }

    #[test]
    fn no_json_makes_the_graph_readers_panic(value in json()) {
        let _ = parse_delta_page(&value);
        let _ = parse_batch(&value);
        let _ = parse_error(&value);
    }
}
