//! The simulator over HTTP, driven with plain reqwest and Microsoft's request samples.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use base64::Engine;
use exchange_sim::{RunningSim, SimConfig, ThrottleRule};
use serde_json::{json, Value};

const ALICE: &str = "alice.martin@example.com";

async fn sim() -> RunningSim {
    exchange_sim::start(SimConfig::for_tests()).await.unwrap()
}

fn request_sample(name: &str, mailbox: Option<&str>) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ews-requests")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    // The doc artefact: real clients send the http:// SOAP namespace.
    let text = text.replace(
        "https://schemas.xmlsoap.org/soap/envelope/",
        "http://schemas.xmlsoap.org/soap/envelope/",
    );
    match mailbox {
        None => text,
        Some(m) => text.replacen(
            "<soap:Header>",
            &format!(
                "<soap:Header><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{m}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"
            ),
            1,
        ),
    }
}

async fn ews(sim: &RunningSim, body: String, password: &str, anchor: &str) -> (u16, String) {
    let d = SimConfig::default();
    let resp = reqwest::Client::new()
        .post(sim.ews_url())
        .basic_auth(&d.service_account, Some(password))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("X-AnchorMailbox", anchor)
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn seed_mailboxes_load() {
    let sim = sim().await;
    let h = sim.handle();
    assert_eq!(h.mailboxes().len(), 3);
    let mut totals = (0, 0, 0);
    for m in h.mailboxes() {
        let (a, b, c) = h.item_counts(&m).unwrap();
        totals = (totals.0 + a, totals.1 + b, totals.2 + c);
    }
    assert_eq!(totals, (28, 9, 7));
    assert_eq!(
        h.list_items(ALICE, "Inbox/Projects/Harbour").unwrap().len(),
        2
    );
}

#[tokio::test]
async fn ews_accepts_microsofts_request_samples() {
    let sim = sim().await;
    let pw = SimConfig::default().service_password;
    let (status, body) = ews(
        &sim,
        request_sample("syncfolderhierarchy-request-initial.xml", Some(ALICE)),
        &pw,
        ALICE,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<m:SyncFolderHierarchyResponseMessage ResponseClass=\"Success\">"));
    assert!(body.contains("h:ServerVersionInfo"));
    // The whole tree below the root (10 folders), IdOnly as the sample asks: ids, no names.
    assert_eq!(body.matches("<t:Create>").count(), 10);
    assert!(!body.contains("<t:DisplayName>"));

    let (status, body) = ews(
        &sim,
        request_sample("syncfolderitems-request-initial.xml", Some(ALICE)),
        &pw,
        ALICE,
    )
    .await;
    assert_eq!(status, 200);
    // Alice's inbox has 6 messages; the sample asks for at most 10 per page.
    assert_eq!(body.matches("<t:Create>").count(), 6);
    assert!(body.contains("<m:IncludesLastItemInRange>true</m:IncludesLastItemInRange>"));

    // The sample's id does not exist here: a per-item error inside HTTP 200.
    let (status, body) = ews(
        &sim,
        request_sample("getitem-request-includemimecontent.xml", Some(ALICE)),
        &pw,
        ALICE,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("ResponseClass=\"Error\"") && body.contains("ErrorInvalidIdMalformed"));

    // As published, CreateItem lacks MessageDisposition, which messages require.
    let mime = base64::engine::general_purpose::STANDARD.encode(b"Subject: hi\r\n\r\nbody\r\n");
    let create = request_sample("createitem-request-mimecontent.xml", Some(ALICE))
        .replace("<!-- Insert MIME content here-->", &mime);
    let (_, body) = ews(&sim, create.clone(), &pw, ALICE).await;
    assert!(body.contains("ErrorMessageDispositionRequired"), "{body}");
    let (_, body) = ews(
        &sim,
        create.replace(
            "<m:CreateItem>",
            "<m:CreateItem MessageDisposition=\"SaveOnly\">",
        ),
        &pw,
        ALICE,
    )
    .await;
    assert!(
        body.contains("<m:CreateItemResponseMessage ResponseClass=\"Success\">"),
        "{body}"
    );
    assert_eq!(sim.handle().counters().created_items, 1);
    assert_eq!(sim.handle().counters().anchor_mismatches, 0);
}

#[tokio::test]
async fn ews_authentication_and_impersonation_faults() {
    let sim = sim().await;
    let pw = SimConfig::default().service_password;
    let sample = || request_sample("syncfolderhierarchy-request-initial.xml", Some(ALICE));
    let (status, _) = ews(&sim, sample(), "not-the-password", ALICE).await;
    assert_eq!(status, 401);

    let (status, body) = ews(
        &sim,
        request_sample("syncfolderhierarchy-request-initial.xml", None),
        &pw,
        ALICE,
    )
    .await;
    assert_eq!(status, 500);
    assert!(body.contains("a:ErrorInvalidExchangeImpersonationHeaderData"));

    let empty = request_sample("syncfolderhierarchy-request-initial.xml", Some(""));
    let (_, body) = ews(&sim, empty, &pw, ALICE).await;
    assert!(body.contains("ErrorInvalidExchangeImpersonationHeaderData"));

    let unknown = request_sample(
        "syncfolderhierarchy-request-initial.xml",
        Some("ghost@example.com"),
    );
    let (status, body) = ews(&sim, unknown, &pw, "ghost@example.com").await;
    assert_eq!(status, 500);
    assert!(body.contains("ErrorNonExistentMailbox"));

    sim.handle().set_access_granted(ALICE, false).unwrap();
    let (_, body) = ews(&sim, sample(), &pw, ALICE).await;
    assert!(body.contains("<e:ResponseCode xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">ErrorImpersonateUserDenied</e:ResponseCode>"));

    // A wrong X-AnchorMailbox is served but noticed.
    sim.handle().set_access_granted(ALICE, true).unwrap();
    let (status, _) = ews(&sim, sample(), &pw, "someone.else@example.com").await;
    assert_eq!(status, 200);
    assert_eq!(sim.handle().counters().anchor_mismatches, 1);
}

#[tokio::test]
async fn ews_server_busy_and_forgotten_sync_states() {
    let sim = sim().await;
    let pw = SimConfig::default().service_password;
    let sample = || request_sample("syncfolderitems-request-initial.xml", Some(ALICE));
    sim.handle().set_ews_server_busy(Some(2), 1234);
    let (first, _) = ews(&sim, sample(), &pw, ALICE).await;
    let (second, body) = ews(&sim, sample(), &pw, ALICE).await;
    assert_eq!((first, second), (200, 500));
    assert!(body.contains("<t:Value Name=\"BackOffMilliseconds\">1234</t:Value>"));
    sim.handle().set_ews_server_busy(None, 0);

    let (_, body) = ews(&sim, sample(), &pw, ALICE).await;
    let state = body
        .split("<m:SyncState>")
        .nth(1)
        .unwrap()
        .split("</m:SyncState>")
        .next()
        .unwrap()
        .to_string();
    let with_state = |s: &str| {
        sample().replace(
            "<m:MaxChangesReturned>",
            &format!("<m:SyncState>{s}</m:SyncState><m:MaxChangesReturned>"),
        )
    };
    let (_, body) = ews(&sim, with_state(&state), &pw, ALICE).await;
    assert!(body.contains("ResponseClass=\"Success\"") && !body.contains("<t:Create>"));
    sim.handle().invalidate_sync_states(None);
    let (status, body) = ews(&sim, with_state(&state), &pw, ALICE).await;
    assert_eq!(status, 200);
    assert!(body.contains("ErrorInvalidSyncStateData") && body.contains("<m:SyncState/>"));
    let (_, body) = ews(&sim, with_state("H4sIAAA=="), &pw, ALICE).await;
    assert!(
        body.contains("ErrorInvalidSyncStateData"),
        "a truncated state is refused"
    );
}

async fn token(sim: &RunningSim, secret: &str) -> (u16, Value) {
    let d = SimConfig::default();
    let resp = reqwest::Client::new()
        .post(sim.token_url(&d.tenant))
        .form(&[
            ("client_id", d.client_id.as_str()),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn bearer(sim: &RunningSim) -> String {
    let (_, v) = token(sim, &SimConfig::default().client_secret).await;
    v["access_token"].as_str().unwrap().to_string()
}

async fn get(
    sim: &RunningSim,
    token: &str,
    path: &str,
    prefer: &[&str],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", sim.graph_url())
    };
    let mut req = reqwest::Client::new().get(url).bearer_auth(token);
    for p in prefer {
        req = req.header("Prefer", *p);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

fn json_of(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap()
}

#[tokio::test]
async fn token_endpoint_checks_the_client() {
    let sim = sim().await;
    let (status, v) = token(&sim, "wrong").await;
    assert_eq!(status, 401);
    assert_eq!(v["error"], "invalid_client");
    assert!(v["error_codes"].is_array());
    let (status, v) = token(&sim, &SimConfig::default().client_secret).await;
    assert_eq!(status, 200);
    assert_eq!(
        (v["token_type"].as_str(), v["expires_in"].as_u64()),
        (Some("Bearer"), Some(3599))
    );
}

#[tokio::test]
async fn graph_auth_users_and_throttling() {
    let sim = sim().await;
    let (status, _, body) = get(&sim, "nope", &format!("/users/{ALICE}/mailFolders"), &[]).await;
    assert_eq!(status, 401);
    assert_eq!(
        json_of(&body)["error"]["code"],
        "InvalidAuthenticationToken"
    );
    let t = bearer(&sim).await;
    let (status, _, body) = get(&sim, &t, "/users/ghost@example.com/mailFolders", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(json_of(&body)["error"]["code"], "ErrorInvalidUser");
    let (status, _, body) = get(&sim, &t, &format!("/users/{ALICE}/mailFolders"), &[]).await;
    assert_eq!(status, 200);
    let names: Vec<String> = json_of(&body)["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["displayName"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"Inbox".to_string()) && !names.contains(&"Harbour".to_string()));

    sim.handle()
        .set_graph_throttle(Some(ThrottleRule::EveryNth {
            n: 2,
            retry_after_secs: 2.128,
        }));
    let a = get(&sim, &t, &format!("/users/{ALICE}/mailFolders"), &[]).await;
    let b = get(&sim, &t, &format!("/users/{ALICE}/mailFolders"), &[]).await;
    let (ok, (_, headers, body)) = if a.0 == 429 { (b.0, a) } else { (a.0, b) };
    assert_eq!(ok, 200);
    assert_eq!(headers["retry-after"], "2.128");
    assert_eq!(json_of(&body)["error"]["code"], "TooManyRequests");

    sim.handle().expire_tokens();
    sim.handle().set_graph_throttle(None);
    let (status, _, _) = get(&sim, &t, &format!("/users/{ALICE}/mailFolders"), &[]).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn graph_delta_paging_removals_and_gone() {
    let sim = sim().await;
    let h = sim.handle();
    let t = bearer(&sim).await;
    let inbox = h.folder_id(ALICE, "inbox").unwrap();
    let first = format!("/users/{ALICE}/mailFolders/{inbox}/messages/delta");
    let prefer = ["odata.maxpagesize=4", "IdType=\"ImmutableId\""];
    let (status, headers, body) = get(&sim, &t, &first, &prefer).await;
    assert_eq!(status, 200);
    assert!(headers["preference-applied"]
        .to_str()
        .unwrap()
        .contains("ImmutableId"));
    let page1 = json_of(&body);
    assert_eq!(page1["value"].as_array().unwrap().len(), 4);
    let next = page1["@odata.nextLink"].as_str().unwrap().to_string();
    let (_, _, body) = get(&sim, &t, &next, &prefer).await;
    let page2 = json_of(&body);
    assert_eq!(page2["value"].as_array().unwrap().len(), 2);
    let delta = page2["@odata.deltaLink"].as_str().unwrap().to_string();

    // Move one message out and delete another: both show as removed from the inbox.
    let items = h.list_items(ALICE, "inbox").unwrap();
    let ids = h.item_ids(ALICE, items[0]).unwrap();
    h.move_item(ALICE, items[0], "drafts").unwrap();
    h.delete_item(ALICE, items[1]).unwrap();
    let (_, _, body) = get(&sim, &t, &delta, &prefer).await;
    let round2 = json_of(&body);
    let removed: Vec<&Value> = round2["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v.get("@removed").is_some())
        .collect();
    assert_eq!(removed.len(), 2);
    assert_eq!(removed[0]["id"], ids.graph_immutable);
    // Immutable ids survive the move; the default id does not.
    let moved = h.item_ids(ALICE, items[0]).unwrap();
    assert_eq!(moved.graph_immutable, ids.graph_immutable);
    assert_ne!(moved.graph_rest, ids.graph_rest);
    let (status, _, _) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/messages/{}/$value", ids.graph_rest),
        &[],
    )
    .await;
    assert_eq!(status, 404, "the old default id is gone");
    let (status, headers, mime) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/messages/{}/$value", moved.graph_immutable),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "message/rfc822");
    assert!(String::from_utf8_lossy(&mime).contains("Subject: Quarterly figures for review"));

    h.invalidate_sync_states(Some(ALICE));
    let (status, headers, body) = get(&sim, &t, &delta, &prefer).await;
    assert_eq!(status, 410);
    assert_eq!(json_of(&body)["error"]["code"], "SyncStateNotFound");
    assert!(headers["location"]
        .to_str()
        .unwrap()
        .ends_with("/messages/delta"));
}

#[tokio::test]
async fn graph_batch_of_mime_downloads() {
    let sim = sim().await;
    let h = sim.handle();
    let t = bearer(&sim).await;
    let items = h.list_items(ALICE, "inbox").unwrap();
    let requests: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let id = h.item_ids(ALICE, *it).unwrap().graph_immutable;
            json!({"id": i.to_string(), "method": "GET", "url": format!("/users/{ALICE}/messages/{id}/$value")})
        })
        .collect();
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/$batch", sim.graph_url()))
        .bearer_auth(&t)
        .json(&json!({"requests": requests}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    let responses = v["responses"].as_array().unwrap();
    assert_eq!(responses.len(), items.len());
    assert_ne!(responses[0]["id"], "0", "answers come out of order");
    for r in responses {
        assert_eq!(r["status"], 200);
        let mime = base64::engine::general_purpose::STANDARD
            .decode(r["body"].as_str().unwrap())
            .unwrap();
        assert!(mime.starts_with(b"From: "));
    }
    let c = h.counters();
    assert_eq!(c.endpoint("graph:$batch"), 1);
    assert_eq!(
        c.endpoint("batch:graph:messages.$value"),
        items.len() as u64
    );

    let too_many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users/x/messages"}))
        .collect();
    let resp = client
        .post(format!("{}/$batch", sim.graph_url()))
        .bearer_auth(&t)
        .json(&json!({"requests": too_many}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // Throttled sub-requests carry their own Retry-After.
    h.set_graph_throttle(Some(ThrottleRule::EveryNth {
        n: 2,
        retry_after_secs: 0.5,
    }));
    let resp = client
        .post(format!("{}/$batch", sim.graph_url()))
        .bearer_auth(&t)
        .json(&json!({"requests": requests}))
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    let throttled: Vec<&Value> = v["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 429)
        .collect();
    assert_eq!(throttled.len(), items.len() / 2);
    assert_eq!(throttled[0]["headers"]["Retry-After"], "0.500");
}

#[tokio::test]
async fn graph_calendar_window_and_contacts() {
    let sim = sim().await;
    let t = bearer(&sim).await;
    let (status, _, _) = get(&sim, &t, &format!("/users/{ALICE}/calendarView/delta"), &[]).await;
    assert_eq!(status, 400, "calendarView delta needs a window");
    let september = format!(
        "/users/{ALICE}/calendarView/delta?startDateTime=2025-09-01T00:00:00Z&endDateTime=2025-10-01T00:00:00Z"
    );
    let (status, _, body) = get(&sim, &t, &september, &[]).await;
    assert_eq!(status, 200);
    let v = json_of(&body);
    assert_eq!(
        v["value"].as_array().unwrap().len(),
        2,
        "the October event is outside the window"
    );
    assert_eq!(v["value"][0]["start"]["timeZone"], "UTC");
    let (_, _, body) = get(&sim, &t, &format!("/users/{ALICE}/contacts/delta"), &[]).await;
    let v = json_of(&body);
    assert_eq!(v["value"].as_array().unwrap().len(), 3);
    assert!(v["value"][0]["emailAddresses"][0]["address"]
        .as_str()
        .unwrap()
        .contains('@'));
    let contacts = sim.handle().folder_id(ALICE, "contacts").unwrap();
    let (status, _, _) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/contactFolders/{contacts}/contacts/delta"),
        &[],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn latency_is_injected() {
    let sim = sim().await;
    sim.handle().set_latency(Duration::from_millis(60));
    let started = std::time::Instant::now();
    let (status, _) = token(&sim, &SimConfig::default().client_secret).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(60));
}

fn soap(mailbox: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\" \
xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\">\
<soap:Header><t:RequestServerVersion Version=\"Exchange2013_SP1\"/>\
<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{mailbox}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>\
</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
}

#[tokio::test]
async fn ews_get_folder_of_several_distinguished_ids() {
    let sim = sim().await;
    let h = sim.handle();
    const HANS: &str = "hans.mueller@example.com";
    h.add_mailbox_localised(
        HANS,
        "Hans",
        &[("inbox", "Posteingang"), ("junkemail", "Junk-E-Mail")],
    )
    .unwrap();
    let body = soap(
        HANS,
        "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:FolderIds>\
<t:DistinguishedFolderId Id=\"inbox\"/><t:DistinguishedFolderId Id=\"junkemail\"/>\
<t:DistinguishedFolderId Id=\"outbox\"/></m:FolderIds></m:GetFolder>",
    );
    let (status, text) = ews(&sim, body, &SimConfig::default().service_password, HANS).await;
    assert_eq!(status, 200, "{text}");
    // One message per id, in order; the missing Outbox is an error of its own.
    let classes: Vec<&str> = text
        .match_indices("<m:GetFolderResponseMessage ResponseClass=\"")
        .map(|(i, m)| {
            let rest = &text[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert_eq!(classes, ["Success", "Success", "Error"]);
    assert!(text.contains("<t:DisplayName>Posteingang</t:DisplayName>"));
    assert!(text.contains("<t:DisplayName>Junk-E-Mail</t:DisplayName>"));
    assert!(text.contains("<m:ResponseCode>ErrorFolderNotFound</m:ResponseCode>"));
    assert_eq!(
        h.folder_id(HANS, "inbox").unwrap(),
        h.folder_id(HANS, "Posteingang").unwrap()
    );
}

#[tokio::test]
async fn ews_hidden_flag_only_when_asked() {
    let sim = sim().await;
    let h = sim.handle();
    h.add_system_folder(
        ALICE,
        "contacts",
        "Recipient Cache",
        exchange_sim::FolderKind::Contacts,
        "IPF.Contact.RecipientCache",
        true,
    )
    .unwrap();
    let pw = SimConfig::default().service_password;
    let sync = |extra: &str| {
        soap(
            ALICE,
            &format!(
                "<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape>{extra}</m:FolderShape>\
<m:SyncFolderId><t:DistinguishedFolderId Id=\"msgfolderroot\"/></m:SyncFolderId></m:SyncFolderHierarchy>"
            ),
        )
    };
    let (_, plain) = ews(&sim, sync(""), &pw, ALICE).await;
    assert!(plain.contains("<t:FolderClass>IPF.Contact.RecipientCache</t:FolderClass>"));
    assert!(!plain.contains("ExtendedProperty"), "{plain}");
    let (_, asked) = ews(
        &sim,
        sync("<t:AdditionalProperties><t:ExtendedFieldURI PropertyTag=\"4340\" PropertyType=\"Boolean\"/></t:AdditionalProperties>"),
        &pw,
        ALICE,
    )
    .await;
    // Only the hidden folder carries the property.
    assert_eq!(asked.matches("<t:ExtendedProperty>").count(), 1, "{asked}");
    assert!(asked.contains("<t:ExtendedFieldURI PropertyTag=\"0x10f4\" PropertyType=\"Boolean\"/><t:Value>true</t:Value>"));
}

#[tokio::test]
async fn graph_hidden_folders_and_well_known_names() {
    let sim = sim().await;
    let h = sim.handle();
    let hidden = h
        .add_system_folder(
            ALICE,
            "msgfolderroot",
            "Yammer Root",
            exchange_sim::FolderKind::Mail,
            "IPF.Note",
            true,
        )
        .unwrap();
    let feeds = h.add_folder(ALICE, "Yammer Root", "Feeds").unwrap();
    let t = bearer(&sim).await;
    let ids = |v: &Value| -> Vec<String> {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, _, body) = get(&sim, &t, &format!("/users/{ALICE}/mailFolders/delta"), &[]).await;
    assert_eq!(status, 200);
    let plain = ids(&json_of(&body));
    assert!(
        !plain.contains(&hidden) && !plain.contains(&feeds),
        "{plain:?}"
    );
    let (_, _, body) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/mailFolders/delta?includeHiddenFolders=true"),
        &[],
    )
    .await;
    let v = json_of(&body);
    let all = ids(&v);
    assert!(all.contains(&hidden) && all.contains(&feeds), "{all:?}");
    let yammer = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == hidden.as_str())
        .unwrap();
    assert_eq!(yammer["isHidden"], true);
    assert!(v["@odata.deltaLink"]
        .as_str()
        .unwrap()
        .contains("includeHiddenFolders=true"));
    let (_, _, body) = get(&sim, &t, &format!("/users/{ALICE}/mailFolders"), &[]).await;
    assert!(!ids(&json_of(&body)).contains(&hidden));

    // Well-known names in one batch; a folder the mailbox lacks is a 404 of its own.
    let resp = reqwest::Client::new()
        .post(format!("{}/$batch", sim.graph_url()))
        .bearer_auth(&t)
        .json(&json!({"requests": [
            {"id": "0", "method": "GET", "url": format!("/users/{ALICE}/mailFolders/inbox?$select=id")},
            {"id": "1", "method": "GET", "url": format!("/users/{ALICE}/mailFolders/junkemail?$select=id")},
        ]}))
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    let by_id = |id: &str| {
        v["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("0")["status"], 200);
    assert_eq!(
        by_id("0")["body"]["id"],
        h.folder_id(ALICE, "inbox").unwrap().as_str()
    );
    assert_eq!(by_id("1")["status"], 404);
}

#[tokio::test]
async fn ews_resolve_names_answers_one_several_or_none() {
    let sim = sim().await;
    let password = SimConfig::default().service_password;
    let resolve = |entry: &str| {
        soap(
            ALICE,
            &format!(
                "<m:ResolveNames ReturnFullContactData=\"false\" SearchScope=\"ActiveDirectory\">\
<m:UnresolvedEntry>{entry}</m:UnresolvedEntry></m:ResolveNames>"
            ),
        )
    };
    let (status, text) = ews(&sim, resolve(&format!("smtp:{ALICE}")), &password, ALICE).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("ResponseClass=\"Success\""), "{text}");
    assert!(text.contains("<t:Name>Alice Martin</t:Name>"), "{text}");
    // A prefix several mailboxes share is a Warning with every match.
    sim.handle()
        .add_mailbox("alice.archer@example.com", "Alice Archer");
    let (_, text) = ews(&sim, resolve("alice"), &password, ALICE).await;
    assert!(text.contains("ResponseClass=\"Warning\""), "{text}");
    assert!(text.contains("ErrorNameResolutionMultipleResults"));
    assert!(text.contains("Alice Archer") && text.contains("Alice Martin"));
    let (_, text) = ews(&sim, resolve("nobody@example.com"), &password, ALICE).await;
    assert!(text.contains("ResponseClass=\"Error\""), "{text}");
    assert!(text.contains("ErrorNameResolutionNoResults"));
}

#[tokio::test]
async fn graph_user_resource_has_the_display_name() {
    let sim = sim().await;
    let t = bearer(&sim).await;
    let (status, _, body) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}?$select=displayName"),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json_of(&body)["displayName"], "Alice Martin");
    assert_eq!(json_of(&body)["mail"], ALICE);
}
