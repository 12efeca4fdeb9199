//! Every Microsoft reference sample, parsed with the connectors' own parsing code.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use mailsync::ews::parse::{
    self, Envelope, EwsFolderKind, EwsItemKind, HierarchyChange, ItemSyncChange, ResponseClass,
};
use mailsync::graph::parse as gparse;
use mailsync::SourceError;
use serde_json::Value;

fn fixture_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn raw(rel: &str) -> Vec<u8> {
    std::fs::read(fixture_path(rel)).unwrap()
}

/// Several documentation pages write the SOAP namespace as `https://`; real servers use
/// `http://`. Only that one URI is normalised.
fn ews_fixture(name: &str) -> Vec<u8> {
    let text = String::from_utf8(raw(&format!("ews-samples/{name}"))).unwrap();
    text.replace(
        "https://schemas.xmlsoap.org/soap/envelope/",
        "http://schemas.xmlsoap.org/soap/envelope/",
    )
    .into_bytes()
}

fn body(name: &str) -> mailsync::xml::Element {
    match parse::parse_envelope(&ews_fixture(name)).unwrap() {
        Envelope::Body { response, .. } => response,
        Envelope::Fault(f) => panic!("{name}: unexpected fault {f:?}"),
    }
}

fn graph(name: &str) -> Value {
    serde_json::from_slice(&raw(&format!("graph-samples/{name}"))).unwrap()
}

#[test]
fn every_ews_sample_is_a_soap_envelope() {
    let dir = fixture_path("ews-samples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("xml") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        parse::parse_envelope(&ews_fixture(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        seen += 1;
    }
    assert_eq!(seen, 14);
    // Request samples are well-formed and namespace-resolvable too.
    for entry in std::fs::read_dir(dir.join("requests")).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("requests/{}", path.file_name().unwrap().to_str().unwrap());
        mailsync::xml::parse(&ews_fixture(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn the_https_soap_namespace_artefact_is_rejected_without_normalisation() {
    let err = parse::parse_envelope(&raw(
        "ews-samples/02-syncfolderhierarchy-response-update-create-delete.xml",
    ))
    .unwrap_err();
    assert!(matches!(err, SourceError::Protocol(_)), "{err:?}");
}

#[test]
fn sync_folder_hierarchy_create() {
    let r = parse::parse_sync_folder_hierarchy(&body("01-syncfolderhierarchy-response-create.xml"))
        .unwrap();
    assert_eq!(r.sync_state, "H4sIAAA==");
    assert!(r.includes_last);
    let [HierarchyChange::Create(f)] = r.changes.as_slice() else {
        panic!("{:?}", r.changes)
    };
    assert_eq!(f.id, "AQApAHR=");
    assert_eq!(f.change_key.as_deref(), Some("AQAAABY"));
    assert_eq!(f.parent_id.as_deref(), Some("AQApA="));
    assert_eq!(f.display_name.as_deref(), Some("NewFolder"));
    assert_eq!(f.kind, EwsFolderKind::Mail);
    assert_eq!(
        (f.total_count, f.child_folder_count, f.unread_count),
        (Some(0), Some(0), Some(0))
    );
}

#[test]
fn sync_folder_hierarchy_update_create_delete() {
    let name = "02-syncfolderhierarchy-response-update-create-delete.xml";
    let Envelope::Body { server, .. } = parse::parse_envelope(&ews_fixture(name)).unwrap() else {
        panic!()
    };
    let server = server.unwrap();
    assert_eq!(
        (server.major, server.minor, server.build, server.revision),
        (15, 0, 745, 21)
    );
    assert_eq!(server.version.as_deref(), Some("V2_3"));
    let r = parse::parse_sync_folder_hierarchy(&body(name)).unwrap();
    assert_eq!(r.sync_state, "H4sIAAA");
    assert_eq!(r.changes.len(), 3);
    assert!(
        matches!(&r.changes[0], HierarchyChange::Update(f) if f.display_name.as_deref() == Some("Meeting Notes"))
    );
    assert!(
        matches!(&r.changes[1], HierarchyChange::Create(f) if f.id == "AAMkADMzM=" && f.display_name.as_deref() == Some("Schedules"))
    );
    assert_eq!(
        r.changes[2],
        HierarchyChange::Delete {
            id: "AAMkAD/AAA=".into()
        }
    );
}

#[test]
fn invalid_sync_state_errors() {
    assert_eq!(
        parse::parse_sync_folder_hierarchy(&body(
            "03-syncfolderhierarchy-error-invalidsyncstate.xml"
        )),
        Err(SourceError::InvalidSyncState)
    );
    assert_eq!(
        parse::parse_sync_folder_items(&body("06-syncfolderitems-error-invalidsyncstate.xml")),
        Err(SourceError::InvalidSyncState)
    );
    let b = body("06-syncfolderitems-error-invalidsyncstate.xml");
    let st = parse::status(parse::response_messages(&b)[0]);
    assert_eq!(st.class, ResponseClass::Error);
    assert_eq!(
        st.text,
        "Synchronization state data is corrupt or otherwise invalid."
    );
}

#[test]
fn sync_folder_items_initial_id_only() {
    let r = parse::parse_sync_folder_items(&body("04-syncfolderitems-response-initial-idonly.xml"))
        .unwrap();
    assert!(r.includes_last);
    assert_eq!(r.changes.len(), 5);
    let ids: Vec<&str> = r
        .changes
        .iter()
        .map(|c| match c {
            ItemSyncChange::Create(h) => {
                assert_eq!(h.kind, EwsItemKind::Message);
                assert_eq!(h.is_read, None);
                h.id.as_str()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    // The doc sample shortens two different ids to the same value: duplicates must survive.
    assert_eq!(
        ids,
        [
            "q04QAAAA==",
            "q07AAAAA==",
            "q1AwAAAA==",
            "AAMkADBh==",
            "AAMkADBh=="
        ]
    );
}

#[test]
fn sync_folder_items_update_create_readflag_delete() {
    let r = parse::parse_sync_folder_items(&body(
        "05-syncfolderitems-response-update-create-readflag-delete.xml",
    ))
    .unwrap();
    assert_eq!(r.sync_state, "H4sIAAAAAAAEAO29B2AcSZY==");
    assert_eq!(r.changes.len(), 5);
    assert!(
        matches!(&r.changes[0], ItemSyncChange::Update(h) if h.id == "q04QAAAA==" && h.is_read == Some(true))
    );
    assert!(
        matches!(&r.changes[1], ItemSyncChange::Create(h) if h.id == "AQMkAD+" && h.change_key.is_none())
    );
    assert!(matches!(&r.changes[2], ItemSyncChange::Create(h) if h.id == "Q04AAAAA=="));
    // Leading spaces inside Id attributes in the sample are trimmed.
    assert_eq!(
        r.changes[3],
        ItemSyncChange::ReadFlagChange {
            id: "q07AAAAA==".into(),
            is_read: true
        }
    );
    assert_eq!(
        r.changes[4],
        ItemSyncChange::Delete {
            id: "q1AwAAAA==".into()
        }
    );
}

#[test]
fn get_item_with_mime_content() {
    let items = parse::parse_get_item(&body("07-getitem-response-mimecontent.xml")).unwrap();
    let [Ok(item)] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(item.id, "AAMkADEzYjJkLTYxMwB8GqYicWAAA=");
    assert_eq!(item.kind, EwsItemKind::Message);
    use base64::Engine;
    let expected = base64::engine::general_purpose::STANDARD
        .decode("UmVjZ6IGZyb2b2suY29y5hMzgwZTA1YtDQo=")
        .unwrap();
    assert_eq!(item.mime.as_deref(), Some(expected.as_slice()));
}

#[test]
fn get_item_calendar_and_contact_without_mime() {
    let cal = parse::parse_get_item(&body("12-getitem-response-calendaritem.xml")).unwrap();
    let [Ok(c)] = cal.as_slice() else { panic!() };
    assert_eq!(
        (c.id.as_str(), c.kind, c.mime.is_none()),
        ("ASUAdT", EwsItemKind::CalendarItem, true)
    );
    let con = parse::parse_get_item(&body("13-getitem-response-contact.xml")).unwrap();
    let [Ok(c)] = con.as_slice() else { panic!() };
    assert_eq!((c.id.as_str(), c.kind), ("AAAtAEA=", EwsItemKind::Contact));
}

#[test]
fn get_folder_and_find_folder() {
    let f = parse::parse_get_folder(&body("08-getfolder-response-inbox.xml")).unwrap();
    let [Ok(inbox)] = f.as_slice() else { panic!() };
    assert_eq!(inbox.display_name.as_deref(), Some("Inbox"));
    assert_eq!((inbox.total_count, inbox.unread_count), (Some(2), Some(2)));
    let found = parse::parse_find_folder(&body("09-findfolder-response.xml")).unwrap();
    assert_eq!(found.total_in_view, 1);
    assert!(found.includes_last);
    assert_eq!(found.folders[0].display_name.as_deref(), Some("TestFolder"));
}

#[test]
fn export_and_upload_items_response_messages() {
    let export = body("10-exportitems-response.xml");
    let msgs = parse::response_messages(&export);
    assert_eq!(msgs.len(), 3);
    assert!(msgs
        .iter()
        .all(|m| parse::status(m).class == ResponseClass::Success));
    let upload = body("11-uploaditems-response.xml");
    let msgs = parse::response_messages(&upload);
    assert_eq!(msgs.len(), 2);
    assert!(msgs.iter().all(|m| parse::status(m).code == "NoError"));
}

#[test]
fn server_busy_fault_with_back_off() {
    let Envelope::Fault(f) =
        parse::parse_envelope(&ews_fixture("14-soapfault-errorserverbusy-backoff.xml")).unwrap()
    else {
        panic!()
    };
    assert_eq!(f.code, "ErrorServerBusy");
    assert_eq!(f.backoff_ms, Some(297_749));
    assert!(f
        .message
        .starts_with("The server cannot service this request"));
}

#[test]
fn token_response_and_error() {
    let t: gparse::TokenResponse =
        serde_json::from_value(graph("01-token-response-client-credentials.json")).unwrap();
    assert_eq!((t.token_type.as_str(), t.expires_in), ("Bearer", 3599));
    let e: gparse::TokenError =
        serde_json::from_value(graph("16-token-error-400-legacy-aad.json")).unwrap();
    assert!(!e.error.is_empty());
    assert!(!e.error_codes.is_empty());
}

#[test]
fn mail_folder_and_contact_delta_pages_with_next_links() {
    let p = gparse::parse_delta_page(&graph("02-mailfolders-delta-nextlink.json")).unwrap();
    assert!(p.next_link.is_some() && p.delta_link.is_none());
    assert_eq!(
        p.entries[0].display_name.as_deref(),
        Some("displayName-value")
    );
    assert_eq!(p.entries[0].id, None);
    let c = gparse::parse_delta_page(&graph("08-contacts-delta-nextlink.json")).unwrap();
    assert!(c.next_link.unwrap().contains("$skiptoken="));
    assert_eq!(
        c.entries[0].parent_folder_id.as_deref(),
        Some("parentFolderId-value")
    );
}

#[test]
fn message_delta_rounds() {
    let p1 =
        gparse::parse_delta_page(&graph("03-messages-delta-round1-page1-nextlink.json")).unwrap();
    assert!(p1
        .next_link
        .unwrap()
        .contains("$skiptoken=GwcBoTmPuoTQWfcsAbkYM"));
    assert_eq!(p1.entries.len(), 2);
    assert_eq!(p1.entries[0].is_read, Some(false));
    assert_eq!(p1.entries[1].is_read, Some(true));
    assert_eq!(p1.entries[1].id.as_deref(), Some("AQMkADNkNAAAVRMKAAAAA=="));
    let p3 =
        gparse::parse_delta_page(&graph("04-messages-delta-round1-page3-deltalink.json")).unwrap();
    assert!(p3.delta_link.unwrap().contains("$deltatoken="));
    let r2 = gparse::parse_delta_page(&graph("05-messages-delta-round2-removed-and-updated.json"))
        .unwrap();
    assert_eq!(r2.entries[0].removed.as_deref(), Some("deleted"));
    // The doc writes "isRead": "true" as a string; it is still read.
    assert_eq!(r2.entries[1].is_read, Some(true));
    assert_eq!(r2.entries[1].removed, None);
}

#[test]
fn calendar_view_delta_rounds() {
    let r1 = gparse::parse_delta_page(&graph("06-calendarview-delta-round1-final-deltalink.json"))
        .unwrap();
    assert_eq!(r1.entries.len(), 1);
    assert_eq!(r1.entries[0].raw["subject"], "Rest!");
    let r2 = gparse::parse_delta_page(&graph(
        "07-calendarview-delta-round2-removed-and-updated.json",
    ))
    .unwrap();
    assert_eq!(r2.entries[0].removed.as_deref(), Some("deleted"));
    assert_eq!(r2.entries[1].id.as_deref(), Some("AAMkADj1HvAAA="));
}

#[test]
fn throttling_error_and_retry_after() {
    let e = gparse::parse_error(&graph("09-throttling-429-toomanyrequests.json")).unwrap();
    assert_eq!(e.code, "TooManyRequests");
    // The Retry-After header documented with this sample.
    assert_eq!(
        gparse::parse_retry_after("2.128"),
        Some(Duration::from_millis(2128))
    );
    assert_eq!(gparse::parse_retry_after("-1"), None);
    let bad =
        gparse::parse_error(&graph("12-create-message-mime-400-invalid-base64.json")).unwrap();
    assert_eq!(bad.code, "ErrorMimeContentInvalidBase64String");
}

#[test]
fn batch_response_out_of_order() {
    let b = gparse::parse_batch(&graph("10-batch-response.json")).unwrap();
    let ids: Vec<&str> = b.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["1", "3", "2", "4"]);
    assert_eq!(b[0].status, 302);
    assert!(b[0].headers.contains_key("location"));
    assert_eq!(b[3].body, Value::Null);
    assert_eq!(b[3].body_bytes().unwrap(), Vec::<u8>::new());
}

#[test]
fn restore_and_import_export_samples_are_well_formed() {
    assert_eq!(graph("11-create-message-mime-201.json")["isDraft"], true);
    assert!(graph("13-mailbox-exportitems-response.json")["value"].is_array());
    assert!(graph("14-mailbox-createimportsession-response.json")["importUrl"].is_string());
    assert!(graph("15-mailbox-importitem-create-response.json")["itemId"].is_string());
    let req: Value =
        serde_json::from_slice(&raw("graph-samples/requests/batch-request.json")).unwrap();
    assert!(req["requests"].as_array().unwrap().len() <= 20);
}

/// One GetItem answer with every response class: a success, an ErrorInternalServerError that
/// wraps ErrorServerBusy (the inner code and back-off in MessageXml, as exchangelib's fixture
/// shows inner errors), a plain error, and the Warning of a stopped batch. Each is that item's
/// own result; none fails the call.
#[test]
fn get_item_mixed_response_classes_are_per_item() {
    let xml = br#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
<m:ResponseMessages>
 <m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>
  <m:Items><t:Message><t:MimeContent CharacterSet="UTF-8">U3ViamVjdDogaGkNCg0KaGk=</t:MimeContent><t:ItemId Id="AAA1" ChangeKey="CQ1"/></t:Message></m:Items>
 </m:GetItemResponseMessage>
 <m:GetItemResponseMessage ResponseClass="Error">
  <m:MessageText>An internal server error occurred. The operation failed.</m:MessageText>
  <m:ResponseCode>ErrorInternalServerError</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>
  <m:MessageXml><t:Value Name="InnerErrorResponseCode">ErrorServerBusy</t:Value>
   <t:Value Name="InnerErrorMessageText">The server cannot service this request right now. Try again later.</t:Value>
   <t:Value Name="BackOffMilliseconds">1200</t:Value></m:MessageXml>
  <m:Items/>
 </m:GetItemResponseMessage>
 <m:GetItemResponseMessage ResponseClass="Error">
  <m:MessageText>Unable to convert the MIME content.</m:MessageText>
  <m:ResponseCode>ErrorMimeContentConversionFailed</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/>
 </m:GetItemResponseMessage>
 <m:GetItemResponseMessage ResponseClass="Warning">
  <m:MessageText>The batch processing was stopped.</m:MessageText>
  <m:ResponseCode>ErrorBatchProcessingStopped</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/>
 </m:GetItemResponseMessage>
</m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>"#;
    let Envelope::Body { response, .. } = parse::parse_envelope(xml).unwrap() else {
        panic!("fault");
    };
    let items = parse::parse_get_item(&response).unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(
        items[0].as_ref().unwrap().mime.as_deref(),
        Some(&b"Subject: hi\r\n\r\nhi"[..])
    );
    let busy = items[1].as_ref().unwrap_err();
    assert_eq!(busy.code, "ErrorInternalServerError");
    assert_eq!(busy.inner_code.as_deref(), Some("ErrorServerBusy"));
    assert_eq!(busy.backoff_ms, Some(1200));
    assert_eq!(
        items[2].as_ref().unwrap_err().code,
        "ErrorMimeContentConversionFailed"
    );
    let stopped = items[3].as_ref().unwrap_err();
    assert_eq!(stopped.class, ResponseClass::Warning);
    assert_eq!(stopped.code, "ErrorBatchProcessingStopped");
}

/// PidTagSearchKey comes back as an extended property of a SyncFolderItems change.
#[test]
fn sync_folder_items_reads_the_search_key() {
    let xml = br#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<m:SyncFolderItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
<m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>
<m:SyncState>H4sIAA==</m:SyncState><m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>
<m:Changes><t:Create><t:Message><t:ItemId Id="AAA1" ChangeKey="CQ1"/>
<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x300b" PropertyType="Binary"/><t:Value>c2sxMjM=</t:Value></t:ExtendedProperty>
<t:IsRead>false</t:IsRead></t:Message></t:Create></m:Changes>
</m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>"#;
    let Envelope::Body { response, .. } = parse::parse_envelope(xml).unwrap() else {
        panic!("fault");
    };
    let sync = parse::parse_sync_folder_items(&response).unwrap();
    let ItemSyncChange::Create(h) = &sync.changes[0] else {
        panic!("{:?}", sync.changes);
    };
    assert_eq!(h.search_key.as_deref(), Some("c2sxMjM="));
    assert_eq!(h.is_read, Some(false));
}
