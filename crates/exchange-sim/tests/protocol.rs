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
    // The October event is outside the window. The weekly series is never returned as its
    // master: as its instances in September (8th, 15th, the 22nd moved to the 23rd; the 29th
    // deleted), each naming its series.
    let entries = v["value"].as_array().unwrap();
    let types: Vec<&str> = entries
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        types,
        ["occurrence", "occurrence", "exception", "singleInstance"],
        "{v}"
    );
    let series = entries[0]["seriesMasterId"].as_str().unwrap();
    assert!(entries[..3].iter().all(|e| e["seriesMasterId"] == series));
    assert_eq!(entries[2]["originalStart"], "2025-09-22T08:00:00Z");
    assert_eq!(entries[2]["location"]["displayName"], "Room 1.01");
    assert_eq!(v["value"][0]["start"]["timeZone"], "UTC");
    // The master itself, and its instances in a window, as event-list-instances answers.
    let (status, _, body) = get(&sim, &t, &format!("/users/{ALICE}/events/{series}"), &[]).await;
    assert_eq!(status, 200);
    let master = json_of(&body);
    assert_eq!(master["type"], "seriesMaster");
    assert_eq!(master["recurrence"]["pattern"]["type"], "weekly");
    let (status, _, _) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/events/{series}/instances"),
        &[],
    )
    .await;
    assert_eq!(status, 400, "instances need a window");
    let (status, _, body) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/events/{series}/instances?startDateTime=2025-09-01T00:00:00Z&endDateTime=2025-12-01T00:00:00Z"),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    let instances = json_of(&body);
    // Five of six: the 29 September occurrence is simply missing.
    assert_eq!(
        instances["value"].as_array().unwrap().len(),
        5,
        "{instances}"
    );
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

// ---- restore: shared helpers ---------------------------------------------------------------

use exchange_sim::xml::{self as sx, Element};
use exchange_sim::{ItemFault, ItemKind, RESTORE_STAMP_GUID, RESTORE_STAMP_NAME};

const T_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
const M_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Every element with this local name below `el`, document order.
fn all_named<'a>(el: &'a Element, name: &str) -> Vec<&'a Element> {
    fn walk<'a>(el: &'a Element, name: &str, out: &mut Vec<&'a Element>) {
        for c in &el.children {
            if c.name == name {
                out.push(c);
            }
            walk(c, name, out);
        }
    }
    let mut out = Vec::new();
    walk(el, name, &mut out);
    out
}

/// The response messages of an EWS answer, with their ResponseClass and ResponseCode.
fn messages(xml: &str) -> Vec<(String, String, Element)> {
    let doc = sx::parse(xml.as_bytes()).unwrap();
    let msgs = doc
        .path(&[(sx::SOAP_NS, "Body")])
        .and_then(|b| b.children.first())
        .and_then(|r| r.child(M_NS, "ResponseMessages"))
        .map(|m| m.children.clone())
        .unwrap_or_default();
    msgs.into_iter()
        .map(|m| {
            let class = m.attr("ResponseClass").unwrap_or("").to_string();
            let code = m
                .child(M_NS, "ResponseCode")
                .map(|c| c.text().to_string())
                .unwrap_or_default();
            (class, code, m)
        })
        .collect()
}

fn codes(xml: &str) -> Vec<String> {
    messages(xml).into_iter().map(|(_, c, _)| c).collect()
}

fn first_id(el: &Element, name: &str) -> String {
    all_named(el, name)
        .first()
        .and_then(|e| e.attr("Id"))
        .unwrap()
        .to_string()
}

async fn ews_as(sim: &RunningSim, mailbox: &str, body: &str) -> (u16, String) {
    ews(
        sim,
        soap(mailbox, body),
        &SimConfig::default().service_password,
        mailbox,
    )
    .await
}

fn stamp_prop(value: &str) -> String {
    format!(
        "<t:ExtendedProperty><t:ExtendedFieldURI PropertySetId=\"{RESTORE_STAMP_GUID}\" PropertyName=\"{RESTORE_STAMP_NAME}\" PropertyType=\"String\"/><t:Value>{value}</t:Value></t:ExtendedProperty>"
    )
}

fn tagged_prop(tag: &str, kind: &str, value: &str) -> String {
    format!(
        "<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"{tag}\" PropertyType=\"{kind}\"/><t:Value>{value}</t:Value></t:ExtendedProperty>"
    )
}

fn mime_message(subject: &str, message_id: &str) -> Vec<u8> {
    format!(
        "From: Emma Lindqvist <emma.lindqvist@example.com>\r\nTo: Alice Martin <alice.martin@example.com>\r\n\
Subject: {subject}\r\nDate: Sun, 28 Feb 2021 07:15:00 +0000\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\nRestored body.\r\n"
    )
    .into_bytes()
}

/// A CreateItem of one MIME message with the given extended properties.
fn create_message_xml(folder: &str, disposition: &str, mime: &[u8], props: &str) -> String {
    format!(
        "<m:CreateItem MessageDisposition=\"{disposition}\"><m:SavedItemFolderId><t:FolderId Id=\"{folder}\"/></m:SavedItemFolderId>\
<m:Items><t:Message><t:MimeContent CharacterSet=\"UTF-8\">{}</t:MimeContent>{props}</t:Message></m:Items></m:CreateItem>",
        b64(mime)
    )
}

fn find_item_xml(folder: &str, restriction: &str, view: &str) -> String {
    format!(
        "<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>\
<t:FieldURI FieldURI=\"message:InternetMessageId\"/>\
<t:ExtendedFieldURI PropertySetId=\"{RESTORE_STAMP_GUID}\" PropertyName=\"{RESTORE_STAMP_NAME}\" PropertyType=\"String\"/>\
</t:AdditionalProperties></m:ItemShape>{view}{restriction}<m:ParentFolderIds><t:FolderId Id=\"{folder}\"/></m:ParentFolderIds></m:FindItem>"
    )
}

fn get_item_all(id: &str) -> String {
    format!(
        "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id=\"{id}\"/></m:ItemIds></m:GetItem>"
    )
}

// ---- restore: EWS ---------------------------------------------------------------------------

#[tokio::test]
async fn ews_create_folder_names_each_folder_in_its_class() {
    let sim = sim().await;
    let h = sim.handle();
    let create = |parent: &str, folders: &str| {
        format!(
            "<m:CreateFolder><m:ParentFolderId>{parent}</m:ParentFolderId><m:Folders>{folders}</m:Folders></m:CreateFolder>"
        )
    };
    let top = "<t:DistinguishedFolderId Id=\"msgfolderroot\"/>";
    let (status, body) = ews_as(
        &sim,
        ALICE,
        &create(
            top,
            "<t:Folder><t:DisplayName>Recovered 2026</t:DisplayName></t:Folder>\
<t:CalendarFolder><t:DisplayName>Recovered calendar</t:DisplayName></t:CalendarFolder>",
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let msgs = messages(&body);
    assert_eq!(
        msgs.iter().map(|(c, _, _)| c.as_str()).collect::<Vec<_>>(),
        ["Success", "Success"]
    );
    assert!(msgs[0]
        .2
        .path(&[(M_NS, "Folders"), (T_NS, "Folder"), (T_NS, "FolderId")])
        .is_some());
    let cal = msgs[1]
        .2
        .path(&[
            (M_NS, "Folders"),
            (T_NS, "CalendarFolder"),
            (T_NS, "FolderId"),
        ])
        .unwrap();
    assert!(cal.attr("ChangeKey").is_some());
    assert_eq!(
        cal.attr("Id").unwrap(),
        h.folder_id(ALICE, "Recovered calendar").unwrap()
    );
    assert!(h
        .folder_paths(ALICE)
        .contains(&"Recovered 2026".to_string()));
    assert_eq!(h.counters().folders_created, 2);

    // The same name in another case is the same folder: ErrorFolderExists, nothing created.
    let (status, body) = ews_as(
        &sim,
        ALICE,
        &create(
            top,
            "<t:Folder><t:DisplayName>recovered 2026</t:DisplayName></t:Folder>",
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (class, code, msg) = &messages(&body)[0];
    assert_eq!(
        (class.as_str(), code.as_str()),
        ("Error", "ErrorFolderExists")
    );
    assert_eq!(
        msg.child(M_NS, "MessageText").unwrap().text(),
        "A folder with the specified name already exists."
    );
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create(
            "<t:FolderId Id=\"AAMkAFnope\"/>",
            "<t:Folder><t:DisplayName>X</t:DisplayName></t:Folder>",
        ),
    )
    .await;
    assert_eq!(codes(&body), ["ErrorParentFolderNotFound"]);
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create(top, "<t:Folder><t:DisplayName> </t:DisplayName></t:Folder>"),
    )
    .await;
    assert_eq!(codes(&body), ["ErrorFolderSavePropertyError"]);
    assert_eq!(h.counters().folders_created, 2);
}

#[tokio::test]
async fn ews_create_folder_path_answers_per_folder_and_reuses_what_exists() {
    let sim = sim().await;
    let h = sim.handle();
    let existing = h.add_folder(ALICE, "inbox", "Recovered").unwrap();
    let path = |parent: &str, names: &[&str], el: &str| {
        let folders: String = names
            .iter()
            .map(|n| format!("<t:{el}><t:DisplayName>{n}</t:DisplayName></t:{el}>"))
            .collect();
        format!(
            "<m:CreateFolderPath><m:ParentFolderId>{parent}</m:ParentFolderId><m:RelativeFolderPath>{folders}</m:RelativeFolderPath></m:CreateFolderPath>"
        )
    };
    let inbox = "<t:DistinguishedFolderId Id=\"inbox\"/>";
    let (status, body) = ews_as(
        &sim,
        ALICE,
        &path(inbox, &["Recovered", "2025", "June"], "Folder"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let msgs = messages(&body);
    // As Microsoft's sample: one response message per folder of the path, in order.
    assert_eq!(msgs.len(), 3, "{body}");
    assert!(msgs
        .iter()
        .all(|(c, code, _)| c == "Success" && code == "NoError"));
    let ids: Vec<String> = msgs
        .iter()
        .map(|(_, _, m)| first_id(m, "FolderId"))
        .collect();
    assert_eq!(ids[0], existing, "the existing folder is used as it is");
    assert_eq!(
        ids[2],
        h.folder_id(ALICE, "Inbox/Recovered/2025/June").unwrap()
    );
    assert_eq!(all_named(&msgs[1].2, "DisplayName")[0].text(), "2025");
    assert_eq!(h.counters().folders_created, 2);

    // A re-run makes nothing new and answers the same ids.
    let (_, again) = ews_as(
        &sim,
        ALICE,
        &path(inbox, &["Recovered", "2025", "June"], "Folder"),
    )
    .await;
    let again: Vec<String> = messages(&again)
        .iter()
        .map(|(_, _, m)| first_id(m, "FolderId"))
        .collect();
    assert_eq!(again, ids);
    assert_eq!(h.counters().folders_created, 2);

    // The element chooses the kind.
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &path(
            "<t:DistinguishedFolderId Id=\"contacts\"/>",
            &["Old friends"],
            "ContactsFolder",
        ),
    )
    .await;
    assert_eq!(
        all_named(&messages(&body)[0].2, "ContactsFolder").len(),
        1,
        "{body}"
    );
    assert!(h
        .folder_paths(ALICE)
        .contains(&"Contacts/Old friends".to_string()));

    // A folder that cannot be made takes the rest of the path with it.
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &path(inbox, &["Fresh", "", "Deeper"], "Folder"),
    )
    .await;
    assert_eq!(
        codes(&body),
        [
            "NoError",
            "ErrorFolderSavePropertyError",
            "ErrorParentFolderNotFound"
        ]
    );
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &path("<t:FolderId Id=\"AAMkAFnope\"/>", &["A", "B"], "Folder"),
    )
    .await;
    assert_eq!(
        codes(&body),
        ["ErrorParentFolderNotFound", "ErrorParentFolderNotFound"]
    );
}

#[tokio::test]
async fn ews_find_folder_shallow_names_the_direct_children() {
    let sim = sim().await;
    let (_, body) = ews_as(
        &sim,
        ALICE,
        "<m:FindFolder Traversal=\"Shallow\"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>\
<t:AdditionalProperties><t:FieldURI FieldURI=\"folder:DisplayName\"/></t:AdditionalProperties></m:FolderShape>\
<m:ParentFolderIds><t:DistinguishedFolderId Id=\"inbox\"/></m:ParentFolderIds></m:FindFolder>",
    )
    .await;
    let msgs = messages(&body);
    let names: Vec<String> = all_named(&msgs[0].2, "DisplayName")
        .iter()
        .map(|d| d.text().to_string())
        .collect();
    assert_eq!(names, ["Projects"], "{body}");
    assert_eq!(
        first_id(&msgs[0].2, "FolderId"),
        sim.handle().folder_id(ALICE, "Inbox/Projects").unwrap()
    );
}

#[tokio::test]
async fn ews_find_item_lists_message_ids_and_stamps_with_restrictions() {
    let sim = sim().await;
    let h = sim.handle();
    let inbox = h.folder_id(ALICE, "inbox").unwrap();
    let stamp = "archive:item:42";
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create_message_xml(
            &inbox,
            "SaveOnly",
            &mime_message("Restored one", "<restored-1@example.com>"),
            &format!(
                "{}{}",
                tagged_prop("3591", "Integer", "1"),
                stamp_prop(stamp)
            ),
        ),
    )
    .await;
    assert_eq!(codes(&body), ["NoError"], "{body}");

    // Seven messages: Alice's six and the restored one; pages of four.
    let view =
        "<m:IndexedPageItemView MaxEntriesReturned=\"4\" Offset=\"0\" BasePoint=\"Beginning\"/>";
    let (status, body) = ews_as(&sim, ALICE, &find_item_xml(&inbox, "", view)).await;
    assert_eq!(status, 200, "{body}");
    let (class, _, msg) = &messages(&body)[0];
    assert_eq!(class, "Success");
    let root = msg.child(M_NS, "RootFolder").unwrap();
    assert_eq!(root.attr("TotalItemsInView"), Some("7"));
    assert_eq!(root.attr("IncludesLastItemInRange"), Some("false"));
    assert_eq!(root.attr("IndexedPagingOffset"), Some("4"));
    assert_eq!(all_named(root, "Message").len(), 4);
    let view2 =
        "<m:IndexedPageItemView MaxEntriesReturned=\"4\" Offset=\"4\" BasePoint=\"Beginning\"/>";
    let (_, body) = ews_as(&sim, ALICE, &find_item_xml(&inbox, "", view2)).await;
    let (_, _, msg) = &messages(&body)[0];
    let root = msg.child(M_NS, "RootFolder").unwrap();
    assert_eq!(root.attr("IncludesLastItemInRange"), Some("true"));
    let items = all_named(root, "Message");
    assert_eq!(items.len(), 3);
    // Every message has its Internet-Message-Id; only the restored one carries the stamp.
    assert!(items
        .iter()
        .all(|m| m.child(T_NS, "InternetMessageId").is_some()));
    let stamped: Vec<&&Element> = items
        .iter()
        .filter(|m| m.child(T_NS, "ExtendedProperty").is_some())
        .collect();
    assert_eq!(stamped.len(), 1);
    let prop = stamped[0].child(T_NS, "ExtendedProperty").unwrap();
    assert_eq!(prop.child(T_NS, "Value").unwrap().text(), stamp);
    assert_eq!(
        prop.child(T_NS, "ExtendedFieldURI")
            .unwrap()
            .attr("PropertyName"),
        Some(RESTORE_STAMP_NAME)
    );

    let restricted =
        |r: &str| find_item_xml(&inbox, &format!("<m:Restriction>{r}</m:Restriction>"), "");
    let count = |xml: &str| {
        let (_, _, m) = &messages(xml)[0];
        all_named(m, "Message").len()
    };
    let by_mid = |mid: &str| {
        format!(
            "<t:IsEqualTo><t:FieldURI FieldURI=\"message:InternetMessageId\"/><t:FieldURIOrConstant><t:Constant Value=\"{mid}\"/></t:FieldURIOrConstant></t:IsEqualTo>"
        )
    };
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &restricted(&by_mid("<seed-002.49@mail.example.com>")),
    )
    .await;
    assert_eq!(count(&body), 1, "{body}");
    let by_tag = "<t:IsEqualTo><t:ExtendedFieldURI PropertyTag=\"0x1035\" PropertyType=\"String\"/>\
<t:FieldURIOrConstant><t:Constant Value=\"&lt;restored-1@example.com&gt;\"/></t:FieldURIOrConstant></t:IsEqualTo>";
    let (_, body) = ews_as(&sim, ALICE, &restricted(by_tag)).await;
    assert_eq!(count(&body), 1, "{body}");
    let stamp_uri = format!(
        "<t:ExtendedFieldURI PropertySetId=\"{RESTORE_STAMP_GUID}\" PropertyName=\"{RESTORE_STAMP_NAME}\" PropertyType=\"String\"/>"
    );
    let by_stamp = |v: &str| {
        format!("<t:IsEqualTo>{stamp_uri}<t:FieldURIOrConstant><t:Constant Value=\"{v}\"/></t:FieldURIOrConstant></t:IsEqualTo>")
    };
    let (_, body) = ews_as(&sim, ALICE, &restricted(&by_stamp(stamp))).await;
    assert_eq!(count(&body), 1);
    let (_, body) = ews_as(&sim, ALICE, &restricted(&by_stamp("archive:item:43"))).await;
    assert_eq!(count(&body), 0);
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &restricted(&format!("<t:Exists>{stamp_uri}</t:Exists>")),
    )
    .await;
    assert_eq!(count(&body), 1);
    let either = format!(
        "<t:Or>{}{}</t:Or>",
        by_mid("<seed-001.38@mail.example.com>"),
        by_stamp(stamp)
    );
    let (_, body) = ews_as(&sim, ALICE, &restricted(&either)).await;
    assert_eq!(count(&body), 2);
    let both = format!(
        "<t:And>{}{}</t:And>",
        by_mid("<restored-1@example.com>"),
        by_stamp(stamp)
    );
    let (_, body) = ews_as(&sim, ALICE, &restricted(&both)).await;
    assert_eq!(count(&body), 1);

    // BasePoint End pages from the newest end; asked for by tag, the id is an extended property.
    let tail = format!(
        "<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>\
<t:ExtendedFieldURI PropertyTag=\"0x1035\" PropertyType=\"String\"/></t:AdditionalProperties></m:ItemShape>\
<m:IndexedPageItemView MaxEntriesReturned=\"2\" Offset=\"0\" BasePoint=\"End\"/>\
<m:ParentFolderIds><t:FolderId Id=\"{inbox}\"/></m:ParentFolderIds></m:FindItem>"
    );
    let (_, body) = ews_as(&sim, ALICE, &tail).await;
    let (_, _, m) = &messages(&body)[0];
    let values: Vec<String> = all_named(m, "Value")
        .iter()
        .map(|v| v.text().to_string())
        .collect();
    assert_eq!(
        values,
        [
            "<seed-006.813@mail.example.com>",
            "<restored-1@example.com>"
        ],
        "{body}"
    );
    assert!(all_named(m, "InternetMessageId").is_empty());
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &find_item_xml(&inbox, "", "")
            .replace("Traversal=\"Shallow\"", "Traversal=\"SoftDeleted\""),
    )
    .await;
    let (_, _, m) = &messages(&body)[0];
    assert_eq!(
        m.child(M_NS, "RootFolder")
            .unwrap()
            .attr("TotalItemsInView"),
        Some("0")
    );
    let (status, body) = ews_as(
        &sim,
        ALICE,
        &find_item_xml(&inbox, "", "").replace("Traversal=\"Shallow\"", "Traversal=\"Deep\""),
    )
    .await;
    assert_eq!(status, 500);
    assert!(body.contains("ErrorSchemaValidation"));

    // A filter the simulator does not know is refused, not ignored.
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &restricted("<t:IsGreaterThan><t:FieldURI FieldURI=\"item:DateTimeReceived\"/><t:FieldURIOrConstant><t:Constant Value=\"2020-01-01T00:00:00Z\"/></t:FieldURIOrConstant></t:IsGreaterThan>"),
    )
    .await;
    assert_eq!(codes(&body), ["ErrorInvalidRestriction"]);
    let (_, body) = ews_as(&sim, ALICE, &find_item_xml("AAMkAFnope", "", "")).await;
    assert_eq!(codes(&body), ["ErrorFolderNotFound"]);
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &find_item_xml(&h.folder_id(ALICE, "calendar").unwrap(), "", ""),
    )
    .await;
    let (_, _, m) = &messages(&body)[0];
    assert_eq!(all_named(m, "CalendarItem").len(), 3, "{body}");
    assert!(all_named(m, "InternetMessageId").is_empty());
}

#[tokio::test]
async fn ews_create_item_message_flags_decide_the_draft_and_duplicates_are_counted() {
    let sim = sim().await;
    let h = sim.handle();
    let folder = h.add_folder(ALICE, "inbox", "Recovered").unwrap();
    let mime = mime_message("Quarterly restore", "<restored-q@example.com>");
    let props = format!(
        "{}{}{}{}",
        tagged_prop("3591", "Integer", "1"),
        tagged_prop("0x0E06", "SystemTime", "2021-02-28T07:16:00Z"),
        tagged_prop("0x0039", "SystemTime", "2021-02-28T07:15:00Z"),
        stamp_prop("s-1")
    );
    let (status, body) = ews_as(
        &sim,
        ALICE,
        &create_message_xml(&folder, "SaveOnly", &mime, &props),
    )
    .await;
    assert_eq!(status, 200);
    let (class, _, msg) = &messages(&body)[0];
    assert_eq!(class, "Success", "{body}");
    let id = first_id(msg, "ItemId");
    let c = h.counters();
    assert_eq!(
        (c.drafts_created, c.duplicates_created, c.messages_sent),
        (0, 0, 0)
    );
    let restored = h.restored(ALICE);
    assert_eq!(restored.len(), 1);
    let r = &restored[0];
    assert_eq!(r.folder_path, "Inbox/Recovered");
    assert_eq!(r.kind, ItemKind::Message);
    assert_eq!(r.stamp.as_deref(), Some("s-1"));
    assert_eq!(
        r.internet_message_id.as_deref(),
        Some("<restored-q@example.com>")
    );
    assert_eq!(r.subject.as_deref(), Some("Quarterly restore"));
    assert!(r.is_read && !r.is_draft);
    assert_eq!(r.created_via, "ews-mime");
    assert_eq!(r.delivery_time.as_deref(), Some("2021-02-28T07:16:00Z"));
    assert_eq!(r.submit_time.as_deref(), Some("2021-02-28T07:15:00Z"));
    assert_eq!(r.data, mime, "the MIME is stored as sent");
    let (_, got) = ews_as(&sim, ALICE, &get_item_all(&id)).await;
    assert!(
        got.contains("<t:IsDraft>false</t:IsDraft><t:IsRead>true</t:IsRead>"),
        "{got}"
    );

    // Without PR_MESSAGE_FLAGS, or with MSGFLAG_UNSENT, a MIME import is a draft.
    let other = mime_message("Draft by accident", "<restored-d@example.com>");
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create_message_xml(&folder, "SaveOnly", &other, ""),
    )
    .await;
    assert_eq!(codes(&body), ["NoError"]);
    let unsent = mime_message("Unsent bit", "<restored-u@example.com>");
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create_message_xml(
            &folder,
            "SaveOnly",
            &unsent,
            &tagged_prop("0x0E07", "Integer", "9"),
        ),
    )
    .await;
    assert_eq!(codes(&body), ["NoError"]);
    assert_eq!(h.counters().drafts_created, 2);

    // A second copy of a stamped item, and a message whose id the folder already has.
    let (_, _) = ews_as(
        &sim,
        ALICE,
        &create_message_xml(&folder, "SaveOnly", &mime, &props),
    )
    .await;
    let inbox = h.folder_id(ALICE, "inbox").unwrap();
    let seeded = mime_message("Lunch again", "<seed-002.49@mail.example.com>");
    let (_, _) = ews_as(
        &sim,
        ALICE,
        &create_message_xml(
            &inbox,
            "SaveOnly",
            &seeded,
            &tagged_prop("3591", "Integer", "0"),
        ),
    )
    .await;
    let c = h.counters();
    assert_eq!(c.duplicates_created, 2);
    assert_eq!(c.created_by_via.get("ews-mime"), Some(&5));

    // Sending is what a restore must never do; Exchange would.
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create_message_xml(&folder, "SendOnly", &other, ""),
    )
    .await;
    assert_eq!(codes(&body), ["NoError"]);
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create_message_xml(&folder, "SendAndSaveCopy", &other, ""),
    )
    .await;
    assert_eq!(codes(&body), ["NoError"]);
    assert_eq!(h.counters().messages_sent, 2);
    assert_eq!(h.restored(ALICE).len(), 6, "SendOnly keeps no copy");

    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create_message_xml(
            &folder,
            "SaveOnly",
            &other,
            &tagged_prop("0x0E06", "SystemTime", "yesterday"),
        ),
    )
    .await;
    assert_eq!(codes(&body), ["ErrorInvalidExtendedPropertyValue"]);

    // A later sync sees the created items like any others.
    let sync = format!(
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>\
<m:SyncFolderId><t:FolderId Id=\"{folder}\"/></m:SyncFolderId><m:MaxChangesReturned>100</m:MaxChangesReturned></m:SyncFolderItems>"
    );
    let (_, body) = ews_as(&sim, ALICE, &sync).await;
    assert_eq!(body.matches("<t:Create>").count(), 5, "{body}");
}

fn calendar_item(attendees: &str, extra: &str) -> String {
    format!(
        "<t:CalendarItem><t:Subject>Harbour steering group</t:Subject><t:Body BodyType=\"HTML\">&lt;p&gt;Agenda, risks&lt;/p&gt;</t:Body>\
<t:Categories><t:String>Harbour</t:String><t:String>Board</t:String></t:Categories>\
<t:ReminderIsSet>true</t:ReminderIsSet><t:ReminderMinutesBeforeStart>30</t:ReminderMinutesBeforeStart>{}\
<t:UID>restored-uid-1@example.com</t:UID><t:Start>2026-03-02T08:00:00Z</t:Start><t:End>2026-03-02T09:30:00Z</t:End>\
<t:IsAllDayEvent>false</t:IsAllDayEvent><t:LegacyFreeBusyStatus>Tentative</t:LegacyFreeBusyStatus><t:Location>Room 4</t:Location>\
{attendees}{extra}<t:StartTimeZone Id=\"W. Europe Standard Time\"/><t:EndTimeZone Id=\"W. Europe Standard Time\"/></t:CalendarItem>",
        stamp_prop("cal-1")
    )
}

const ATTENDEES: &str = "<t:RequiredAttendees><t:Attendee><t:Mailbox><t:Name>Daniel Okafor</t:Name><t:EmailAddress>daniel.okafor@example.com</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees>\
<t:OptionalAttendees><t:Attendee><t:Mailbox><t:Name>Emma Lindqvist</t:Name><t:EmailAddress>emma.lindqvist@example.com</t:EmailAddress></t:Mailbox></t:Attendee></t:OptionalAttendees>\
<t:Resources><t:Attendee><t:Mailbox><t:Name>Room 4</t:Name><t:EmailAddress>room4@example.com</t:EmailAddress></t:Mailbox></t:Attendee></t:Resources>";

fn create_calendar_xml(attr: &str, item: &str) -> String {
    format!(
        "<m:CreateItem {attr}><m:SavedItemFolderId><t:DistinguishedFolderId Id=\"calendar\"/></m:SavedItemFolderId><m:Items>{item}</m:Items></m:CreateItem>"
    )
}

#[tokio::test]
async fn ews_typed_calendar_items_round_trip_and_invitations_are_counted() {
    let sim = sim().await;
    let h = sim.handle();
    let weekly = "<t:Recurrence><t:WeeklyRecurrence><t:Interval>2</t:Interval><t:DaysOfWeek>Monday Wednesday</t:DaysOfWeek>\
<t:FirstDayOfWeek>Monday</t:FirstDayOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-03-02+01:00</t:StartDate>\
<t:NumberOfOccurrences>10</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>";
    let (status, body) = ews_as(
        &sim,
        ALICE,
        &create_calendar_xml(
            "SendMeetingInvitations=\"SendToNone\"",
            &calendar_item(ATTENDEES, weekly),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (class, _, msg) = &messages(&body)[0];
    assert_eq!(class, "Success", "{body}");
    assert!(msg
        .path(&[(M_NS, "Items"), (T_NS, "CalendarItem"), (T_NS, "ItemId")])
        .is_some());
    let id = first_id(msg, "ItemId");
    assert_eq!(h.counters().invitations_sent, 0);
    let r = h.restored(ALICE).pop().unwrap();
    assert_eq!(
        (r.kind, r.created_via),
        (ItemKind::CalendarItem, "ews-typed")
    );
    assert_eq!(r.stamp.as_deref(), Some("cal-1"));
    assert!(r.attendees_invited.is_empty());

    // GetItem on a later sync serves what was sent.
    let (_, got) = ews_as(&sim, ALICE, &get_item_all(&id)).await;
    let doc = sx::parse(got.as_bytes()).unwrap();
    let item = all_named(&doc, "CalendarItem")[0];
    let text = |name: &str| {
        item.child(T_NS, name)
            .map(|e| e.text().to_string())
            .unwrap_or_default()
    };
    assert_eq!(text("Subject"), "Harbour steering group");
    assert_eq!(text("Start"), "2026-03-02T08:00:00Z");
    assert_eq!(text("End"), "2026-03-02T09:30:00Z");
    assert_eq!(text("UID"), "restored-uid-1@example.com");
    assert_eq!(text("Location"), "Room 4");
    assert_eq!(text("LegacyFreeBusyStatus"), "Tentative");
    assert_eq!(text("ReminderMinutesBeforeStart"), "30");
    assert_eq!(
        item.child(T_NS, "Body").unwrap().attr("BodyType"),
        Some("HTML")
    );
    assert_eq!(text("Body"), "<p>Agenda, risks</p>");
    assert_eq!(all_named(item, "String").len(), 2);
    assert_eq!(
        item.child(T_NS, "StartTimeZone").unwrap().attr("Id"),
        Some("W. Europe Standard Time")
    );
    let organizer = item.child(T_NS, "Organizer").unwrap();
    assert_eq!(all_named(organizer, "EmailAddress")[0].text(), ALICE);
    for (list, address) in [
        ("RequiredAttendees", "daniel.okafor@example.com"),
        ("OptionalAttendees", "emma.lindqvist@example.com"),
        ("Resources", "room4@example.com"),
    ] {
        let l = item
            .child(T_NS, list)
            .unwrap_or_else(|| panic!("{list} in {got}"));
        assert_eq!(all_named(l, "EmailAddress")[0].text(), address);
    }
    let weekly = item
        .path(&[(T_NS, "Recurrence"), (T_NS, "WeeklyRecurrence")])
        .unwrap();
    assert_eq!(weekly.child(T_NS, "Interval").unwrap().text(), "2");
    assert_eq!(
        weekly.child(T_NS, "DaysOfWeek").unwrap().text(),
        "Monday Wednesday"
    );
    let numbered = item
        .path(&[(T_NS, "Recurrence"), (T_NS, "NumberedRecurrence")])
        .unwrap();
    assert_eq!(
        numbered.child(T_NS, "StartDate").unwrap().text(),
        "2026-03-02+01:00"
    );
    assert_eq!(
        numbered.child(T_NS, "NumberOfOccurrences").unwrap().text(),
        "10"
    );

    // Other patterns and ranges come back in their own shapes.
    for (recurrence, expect) in [
        (
            "<t:RelativeMonthlyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Weekday</t:DaysOfWeek><t:DayOfWeekIndex>Last</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence>\
<t:EndDateRecurrence><t:StartDate>2026-03-02</t:StartDate><t:EndDate>2026-12-31</t:EndDate></t:EndDateRecurrence>",
            "<t:RelativeMonthlyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Weekday</t:DaysOfWeek><t:DayOfWeekIndex>Last</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence><t:EndDateRecurrence><t:StartDate>2026-03-02+01:00</t:StartDate><t:EndDate>2026-12-31+01:00</t:EndDate></t:EndDateRecurrence>",
        ),
        (
            "<t:AbsoluteYearlyRecurrence><t:DayOfMonth>2</t:DayOfMonth><t:Month>March</t:Month></t:AbsoluteYearlyRecurrence><t:NoEndRecurrence><t:StartDate>2026-03-02</t:StartDate></t:NoEndRecurrence>",
            "<t:AbsoluteYearlyRecurrence><t:DayOfMonth>2</t:DayOfMonth><t:Month>March</t:Month></t:AbsoluteYearlyRecurrence><t:NoEndRecurrence>",
        ),
        (
            "<t:RelativeYearlyRecurrence><t:DaysOfWeek>Monday</t:DaysOfWeek><t:DayOfWeekIndex>First</t:DayOfWeekIndex><t:Month>March</t:Month></t:RelativeYearlyRecurrence><t:NoEndRecurrence><t:StartDate>2026-03-02</t:StartDate></t:NoEndRecurrence>",
            "<t:RelativeYearlyRecurrence><t:DaysOfWeek>Monday</t:DaysOfWeek><t:DayOfWeekIndex>First</t:DayOfWeekIndex><t:Month>March</t:Month></t:RelativeYearlyRecurrence>",
        ),
    ] {
        let item = calendar_item("", &format!("<t:Recurrence>{recurrence}</t:Recurrence>"));
        let (_, body) = ews_as(&sim, ALICE, &create_calendar_xml("SendMeetingInvitations=\"SendToNone\"", &item)).await;
        let id = first_id(&messages(&body)[0].2, "ItemId");
        let (_, got) = ews_as(&sim, ALICE, &get_item_all(&id)).await;
        assert!(got.contains(expect), "{expect}\nin\n{got}");
    }

    // An all-day item in Tokyo keeps its day.
    let all_day = "<t:CalendarItem><t:Subject>Founding day</t:Subject><t:Start>2026-09-10T15:00:00Z</t:Start><t:End>2026-09-11T15:00:00Z</t:End>\
<t:IsAllDayEvent>true</t:IsAllDayEvent><t:StartTimeZone Id=\"Tokyo Standard Time\"/><t:EndTimeZone Id=\"Tokyo Standard Time\"/></t:CalendarItem>";
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create_calendar_xml("SendMeetingInvitations=\"SendToNone\"", all_day),
    )
    .await;
    let id = first_id(&messages(&body)[0].2, "ItemId");
    let (_, got) = ews_as(&sim, ALICE, &get_item_all(&id)).await;
    assert!(got.contains("<t:Start>2026-09-10T15:00:00Z</t:Start><t:End>2026-09-11T15:00:00Z</t:End><t:IsAllDayEvent>true</t:IsAllDayEvent>"), "{got}");

    // Without SendMeetingInvitations, a calendar item is refused.
    let (status, body) = ews_as(
        &sim,
        ALICE,
        &create_calendar_xml("", &calendar_item(ATTENDEES, "")),
    )
    .await;
    assert_eq!(status, 200);
    let (class, code, msg) = &messages(&body)[0];
    assert_eq!(
        (class.as_str(), code.as_str()),
        ("Error", "ErrorSendMeetingInvitationsRequired")
    );
    assert_eq!(
        msg.child(M_NS, "MessageText").unwrap().text(),
        "The SendMeetingInvitations attribute is required for calendar items."
    );
    let backwards = calendar_item("", "").replace("2026-03-02T09:30:00Z", "2026-03-02T07:00:00Z");
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create_calendar_xml("SendMeetingInvitations=\"SendToNone\"", &backwards),
    )
    .await;
    assert_eq!(codes(&body), ["ErrorCalendarEndDateIsEarlierThanStartDate"]);

    // Saving with invitations sends one to every attendee.
    let before = h.restored(ALICE).len();
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create_calendar_xml(
            "SendMeetingInvitations=\"SendToAllAndSaveCopy\"",
            &calendar_item(ATTENDEES, ""),
        ),
    )
    .await;
    assert_eq!(codes(&body), ["NoError"]);
    assert_eq!(h.counters().invitations_sent, 3);
    let r = h.restored(ALICE).pop().unwrap();
    assert_eq!(r.attendees_invited.len(), 3);
    assert_eq!(h.restored(ALICE).len(), before + 1);
    // The same stamp twice in one calendar is a duplicate.
    assert_eq!(
        h.counters().duplicates_created,
        4,
        "every cal-1 item after the first"
    );
    // The MIME route stays: an iCalendar body saved as is.
    let ics = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:mime-1\r\nSUMMARY:From MIME\r\nDTSTART:20260401T100000Z\r\nDTEND:20260401T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let item = format!(
        "<t:CalendarItem><t:MimeContent CharacterSet=\"UTF-8\">{}</t:MimeContent></t:CalendarItem>",
        b64(ics)
    );
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create_calendar_xml("SendMeetingInvitations=\"SendToNone\"", &item),
    )
    .await;
    assert_eq!(codes(&body), ["NoError"]);
    let r = h.restored(ALICE).pop().unwrap();
    assert_eq!(
        (r.data.as_slice(), r.created_via),
        (ics.as_slice(), "ews-mime")
    );
}

fn update_read_xml(attrs: &str, id: &str, change_key: &str, read: bool) -> String {
    format!(
        "<m:UpdateItem MessageDisposition=\"SaveOnly\" {attrs}><m:ItemChanges><t:ItemChange><t:ItemId Id=\"{id}\"{change_key}/>\
<t:Updates><t:SetItemField><t:FieldURI FieldURI=\"message:IsRead\"/><t:Message><t:IsRead>{read}</t:IsRead></t:Message>\
</t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    )
}

#[tokio::test]
async fn ews_update_item_sets_the_read_state_and_answers_each_documented_error() {
    let sim = sim().await;
    let h = sim.handle();
    let inbox = h.folder_id(ALICE, "inbox").unwrap();
    let mut mime = mime_message("Please confirm", "<confirm-1@example.com>");
    mime.splice(
        0..0,
        b"Disposition-Notification-To: emma.lindqvist@example.com\r\n"
            .iter()
            .copied(),
    );
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &create_message_xml(
            &inbox,
            "SaveOnly",
            &mime,
            &tagged_prop("3591", "Integer", "0"),
        ),
    )
    .await;
    let (_, _, msg) = &messages(&body)[0];
    let id = first_id(msg, "ItemId");
    let always = "ConflictResolution=\"AlwaysOverwrite\"";

    // Marked read with receipts suppressed: read, no receipt, a new change key.
    let suppressed = format!("{always} SuppressReadReceipts=\"true\"");
    let (status, body) = ews_as(&sim, ALICE, &update_read_xml(&suppressed, &id, "", true)).await;
    assert_eq!(
        (status, codes(&body)),
        (200, vec!["NoError".to_string()]),
        "{body}"
    );
    assert!(
        body.contains("<m:ConflictResults><m:Count>0</m:Count>"),
        "{body}"
    );
    let c = h.counters();
    assert_eq!((c.read_receipts_sent, c.items_updated), (0, 1));

    // Unread again, then read without suppressing: Exchange sends the receipt it was asked for.
    ews_as(&sim, ALICE, &update_read_xml(always, &id, "", false)).await;
    let (_, body) = ews_as(&sim, ALICE, &update_read_xml(always, &id, "", true)).await;
    assert_eq!(codes(&body), ["NoError"], "{body}");
    assert_eq!(h.counters().read_receipts_sent, 1);

    // A stale change key without AlwaysOverwrite is a conflict; an unknown item, a malformed id
    // and a field this server does not update are refused per item, on HTTP 200.
    let stale = " ChangeKey=\"CQAAAA==\"";
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &update_read_xml("ConflictResolution=\"AutoResolve\"", &id, stale, false),
    )
    .await;
    assert_eq!(codes(&body), ["ErrorIrresolvableConflict"], "{body}");
    let (status, body) = ews_as(
        &sim,
        ALICE,
        &update_read_xml(always, "AAMkAGbm90IGFuIGlk", "", false),
    )
    .await;
    assert_eq!(
        (status, codes(&body)),
        (200, vec!["ErrorInvalidIdMalformed".to_string()])
    );
    let subject = format!(
        "<m:UpdateItem MessageDisposition=\"SaveOnly\" {always}><m:ItemChanges><t:ItemChange><t:ItemId Id=\"{id}\"/>\
<t:Updates><t:SetItemField><t:FieldURI FieldURI=\"item:Subject\"/><t:Message><t:Subject>New</t:Subject></t:Message>\
</t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"
    );
    let (_, body) = ews_as(&sim, ALICE, &subject).await;
    assert_eq!(codes(&body), ["ErrorInvalidPropertySet"], "{body}");
    // ConflictResolution is required by the schema.
    let (status, body) = ews_as(&sim, ALICE, &update_read_xml("", &id, "", true)).await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("ConflictResolution"), "{body}");
    // Deleted in the meantime: not found.
    let created = *h.list_items(ALICE, "Inbox").unwrap().last().unwrap();
    h.delete_item(ALICE, created).unwrap();
    let (status, body) = ews_as(&sim, ALICE, &update_read_xml(always, &id, "", false)).await;
    assert_eq!(
        (status, codes(&body)),
        (200, vec!["ErrorItemNotFound".to_string()]),
        "{body}"
    );
}

#[tokio::test]
async fn ews_typed_contacts_round_trip_through_get_item_and_graph() {
    let sim = sim().await;
    let h = sim.handle();
    let contact = format!(
        "<t:Contact><t:Body BodyType=\"Text\">Met in Lund, 2019.</t:Body><t:Categories><t:String>Partners</t:String></t:Categories>{}\
<t:FileAs>Berg, Ingrid</t:FileAs><t:DisplayName>Ingrid Berg</t:DisplayName><t:GivenName>Ingrid</t:GivenName><t:Initials>I.B.</t:Initials>\
<t:MiddleName>Maria</t:MiddleName><t:Nickname>Inge</t:Nickname><t:CompanyName>Nordic Freight</t:CompanyName>\
<t:EmailAddresses><t:Entry Key=\"EmailAddress1\" Name=\"Ingrid Berg (work)\">ingrid@nordicfreight.example</t:Entry>\
<t:Entry Key=\"EmailAddress2\">ingrid.berg@example.org</t:Entry></t:EmailAddresses>\
<t:PhysicalAddresses><t:Entry Key=\"Business\"><t:Street>Hamngatan 2</t:Street><t:City>Lund</t:City><t:State>Skane</t:State>\
<t:CountryOrRegion>Sweden</t:CountryOrRegion><t:PostalCode>222 21</t:PostalCode></t:Entry></t:PhysicalAddresses>\
<t:PhoneNumbers><t:Entry Key=\"BusinessPhone\">+46 46 555 0100</t:Entry><t:Entry Key=\"MobilePhone\">+46 70 555 0111</t:Entry>\
<t:Entry Key=\"HomeFax\">+46 46 555 0199</t:Entry></t:PhoneNumbers>\
<t:AssistantName>Per</t:AssistantName><t:Birthday>1979-05-17T00:00:00Z</t:Birthday><t:BusinessHomePage>https://nordicfreight.example</t:BusinessHomePage>\
<t:Department>Logistics</t:Department><t:Generation>Jr.</t:Generation><t:JobTitle>Head of Routes</t:JobTitle><t:Manager>Sven</t:Manager>\
<t:OfficeLocation>Building B</t:OfficeLocation><t:Surname>Berg</t:Surname></t:Contact>",
        stamp_prop("contact-1")
    );
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &format!(
            "<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id=\"contacts\"/></m:SavedItemFolderId><m:Items>{contact}</m:Items></m:CreateItem>"
        ),
    )
    .await;
    let (class, _, msg) = &messages(&body)[0];
    assert_eq!(class, "Success", "{body}");
    let id = first_id(msg, "ItemId");
    let r = h.restored(ALICE).pop().unwrap();
    assert_eq!((r.kind, r.created_via), (ItemKind::Contact, "ews-typed"));
    assert_eq!(r.subject.as_deref(), Some("Ingrid Berg"));

    let (_, got) = ews_as(&sim, ALICE, &get_item_all(&id)).await;
    let doc = sx::parse(got.as_bytes()).unwrap();
    let c = all_named(&doc, "Contact")[0];
    let text = |name: &str| {
        c.child(T_NS, name)
            .map(|e| e.text().to_string())
            .unwrap_or_default()
    };
    for (name, want) in [
        ("FileAs", "Berg, Ingrid"),
        ("DisplayName", "Ingrid Berg"),
        ("GivenName", "Ingrid"),
        ("Initials", "I.B."),
        ("MiddleName", "Maria"),
        ("Nickname", "Inge"),
        ("CompanyName", "Nordic Freight"),
        ("AssistantName", "Per"),
        ("Birthday", "1979-05-17T00:00:00Z"),
        ("BusinessHomePage", "https://nordicfreight.example"),
        ("Department", "Logistics"),
        ("Generation", "Jr."),
        ("JobTitle", "Head of Routes"),
        ("Manager", "Sven"),
        ("OfficeLocation", "Building B"),
        ("Surname", "Berg"),
        ("Body", "Met in Lund, 2019."),
    ] {
        assert_eq!(text(name), want, "{name} in {got}");
    }
    let entries = all_named(c, "Entry");
    let entry = |key: &str| entries.iter().find(|e| e.attr("Key") == Some(key)).copied();
    assert_eq!(
        entry("EmailAddress1").unwrap().attr("Name"),
        Some("Ingrid Berg (work)")
    );
    assert_eq!(
        entry("EmailAddress2").unwrap().text(),
        "ingrid.berg@example.org"
    );
    assert_eq!(entry("MobilePhone").unwrap().text(), "+46 70 555 0111");
    assert_eq!(entry("HomeFax").unwrap().text(), "+46 46 555 0199");
    let business = entry("Business").unwrap();
    assert_eq!(business.child(T_NS, "City").unwrap().text(), "Lund");
    assert_eq!(business.child(T_NS, "PostalCode").unwrap().text(), "222 21");

    // FindItem names a contact by its display name and its e-mail slots (PidLidEmail1..3
    // EmailAddress, asked for by id: FindItem cannot return `contacts:EmailAddresses`).
    let find = "<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>\
<t:FieldURI FieldURI=\"contacts:DisplayName\"/>\
<t:ExtendedFieldURI DistinguishedPropertySetId=\"Address\" PropertyId=\"32899\" PropertyType=\"String\"/>\
<t:ExtendedFieldURI DistinguishedPropertySetId=\"Address\" PropertyId=\"32915\" PropertyType=\"String\"/>\
<t:ExtendedFieldURI DistinguishedPropertySetId=\"Address\" PropertyId=\"32931\" PropertyType=\"String\"/>\
</t:AdditionalProperties></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id=\"contacts\"/></m:ParentFolderIds></m:FindItem>";
    let (_, found) = ews_as(&sim, ALICE, find).await;
    let doc = sx::parse(found.as_bytes()).unwrap();
    let listed = all_named(&doc, "Contact")
        .into_iter()
        .find(|c| {
            c.child(T_NS, "DisplayName")
                .is_some_and(|d| d.text() == "Ingrid Berg")
        })
        .unwrap_or_else(|| panic!("Ingrid by her display name in {found}"));
    let slots: Vec<(String, String)> = all_named(listed, "ExtendedProperty")
        .iter()
        .map(|p| {
            let uri = p.child(T_NS, "ExtendedFieldURI").unwrap();
            (
                uri.attr("PropertyId").unwrap_or_default().to_string(),
                p.child(T_NS, "Value").unwrap().text().to_string(),
            )
        })
        .collect();
    assert_eq!(
        slots,
        vec![
            (
                "32899".to_string(),
                "ingrid@nordicfreight.example".to_string()
            ),
            ("32915".to_string(), "ingrid.berg@example.org".to_string()),
        ],
        "{found}"
    );

    // The Graph contacts delta of the default folder serves the same contact.
    let t = bearer(&sim).await;
    let (_, _, body) = get(&sim, &t, &format!("/users/{ALICE}/contacts/delta"), &[]).await;
    let v = json_of(&body);
    let ingrid = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["displayName"] == "Ingrid Berg")
        .unwrap()
        .clone();
    assert_eq!(ingrid["mobilePhone"], "+46 70 555 0111");
    assert_eq!(ingrid["businessPhones"], json!(["+46 46 555 0100"]));
    assert_eq!(ingrid["companyName"], "Nordic Freight");
    assert_eq!(ingrid["department"], "Logistics");
    assert_eq!(ingrid["officeLocation"], "Building B");
    assert_eq!(ingrid["emailAddresses"][0]["name"], "Ingrid Berg (work)");
    assert_eq!(ingrid["businessAddress"]["street"], "Hamngatan 2");
    assert_eq!(ingrid["birthday"], "1979-05-17T11:59:00Z");
    assert_eq!(ingrid["categories"], json!(["Partners"]));
}

#[tokio::test]
async fn ews_create_faults_by_subject_and_refusals_apply_to_restore_operations() {
    let sim = sim().await;
    let h = sim.handle();
    let inbox = h.folder_id(ALICE, "inbox").unwrap();
    let broken = mime_message("Broken attachment", "<b@example.com>");
    let create = create_message_xml(
        &inbox,
        "SaveOnly",
        &broken,
        &tagged_prop("3591", "Integer", "1"),
    );
    h.fail_creates(ALICE, "Broken", ItemFault::MimeConversionFailed, 1);
    let (status, body) = ews_as(&sim, ALICE, &create).await;
    assert_eq!(status, 200);
    assert_eq!(codes(&body), ["ErrorMimeContentConversionFailed"]);
    assert!(h.restored(ALICE).is_empty());
    let (_, body) = ews_as(&sim, ALICE, &create).await;
    assert_eq!(codes(&body), ["NoError"], "the rule answered once");

    h.fail_creates(ALICE, "Broken", ItemFault::InternalError, 1);
    let (_, body) = ews_as(&sim, ALICE, &create).await;
    assert_eq!(codes(&body), ["ErrorInternalServerError"]);

    // Throttling refuses the whole request with the back-off, and creates nothing.
    h.fail_creates(
        ALICE,
        "Broken",
        ItemFault::ServerBusy { backoff_ms: 700 },
        1,
    );
    let (status, body) = ews_as(&sim, ALICE, &create).await;
    assert_eq!(status, 500);
    assert!(body.contains("a:ErrorServerBusy"), "{body}");
    assert!(body.contains("<t:Value Name=\"BackOffMilliseconds\">700</t:Value>"));
    assert_eq!(h.restored(ALICE).len(), 1);
    // Other subjects are not affected.
    h.fail_creates(ALICE, "Nothing like this", ItemFault::InternalError, 1);
    let (_, body) = ews_as(&sim, ALICE, &create).await;
    assert_eq!(codes(&body), ["NoError"]);

    // The server-wide busy answer applies to the new operations too.
    h.set_ews_server_busy(Some(1), 250);
    let (status, body) = ews_as(&sim, ALICE, &find_item_xml(&inbox, "", "")).await;
    assert_eq!(status, 500);
    assert!(body.contains("<t:Value Name=\"BackOffMilliseconds\">250</t:Value>"));
    h.set_ews_server_busy(None, 0);

    h.set_access_granted(ALICE, false).unwrap();
    for op in [
        create.clone(),
        find_item_xml(&inbox, "", ""),
        "<m:CreateFolderPath><m:ParentFolderId><t:DistinguishedFolderId Id=\"inbox\"/></m:ParentFolderId>\
<m:RelativeFolderPath><t:Folder><t:DisplayName>X</t:DisplayName></t:Folder></m:RelativeFolderPath></m:CreateFolderPath>"
            .to_string(),
    ] {
        let (status, body) = ews_as(&sim, ALICE, &op).await;
        assert_eq!(status, 500);
        assert!(body.contains("ErrorImpersonateUserDenied"), "{body}");
    }
    assert_eq!(h.restored(ALICE).len(), 2);
}

// ---- restore: Graph -------------------------------------------------------------------------

async fn send(
    sim: &RunningSim,
    token: Option<&str>,
    method: reqwest::Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", sim.graph_url())
    };
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("Content-Type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

async fn post(sim: &RunningSim, token: &str, path: &str, body: Value) -> (u16, Value) {
    let (status, _, bytes) = send(
        sim,
        Some(token),
        reqwest::Method::POST,
        path,
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v)
}

fn stamp_id() -> String {
    format!("String {{{RESTORE_STAMP_GUID}}} Name {RESTORE_STAMP_NAME}")
}

fn graph_message(
    subject: &str,
    message_id: &str,
    flags: Option<&str>,
    stamp: Option<&str>,
) -> Value {
    let mut props = vec![
        json!({"id": "SystemTime 0x0E06", "value": "2021-02-28T07:16:00Z"}),
        json!({"id": "SystemTime 0x0039", "value": "2021-02-28T07:15:00Z"}),
    ];
    if let Some(f) = flags {
        props.push(json!({"id": "Integer 0x0E07", "value": f}));
    }
    if let Some(s) = stamp {
        props.push(json!({"id": stamp_id(), "value": s}));
    }
    json!({
        "subject": subject,
        "body": {"contentType": "html", "content": "<p>Figures attached.</p>"},
        "from": {"emailAddress": {"name": "Emma Lindqvist", "address": "emma.lindqvist@example.com"}},
        "toRecipients": [{"emailAddress": {"name": "Alice Martin", "address": ALICE}}],
        "ccRecipients": [{"emailAddress": {"name": "Daniel Okafor", "address": "daniel.okafor@example.com"}}],
        "internetMessageId": message_id,
        "isRead": true,
        "importance": "high",
        "categories": ["Finance"],
        "singleValueExtendedProperties": props,
    })
}

fn jwt_payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn graph_tokens_carry_app_roles_and_writes_check_them() {
    let sim = sim().await;
    let h = sim.handle();
    let full = bearer(&sim).await;
    let claims = jwt_payload(&full);
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["appid"], SimConfig::default().client_id);
    assert!(claims["tid"].as_str().unwrap().len() == 36);
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    assert_eq!(
        claims["roles"],
        json!([
            "Mail.ReadWrite",
            "Calendars.ReadWrite",
            "Contacts.ReadWrite"
        ])
    );

    h.set_graph_roles(vec!["Mail.ReadWrite".into()]);
    let mail_only = bearer(&sim).await;
    assert_eq!(jwt_payload(&mail_only)["roles"], json!(["Mail.ReadWrite"]));
    let (status, v) = post(
        &sim,
        &mail_only,
        &format!("/users/{ALICE}/calendars"),
        json!({"name": "Restored"}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(v["error"]["code"], "ErrorAccessDenied");
    assert_eq!(
        v["error"]["message"],
        "Access is denied. Check credentials and try again."
    );
    let (status, _) = post(
        &sim,
        &mail_only,
        &format!("/users/{ALICE}/contacts"),
        json!({"givenName": "X"}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = post(
        &sim,
        &mail_only,
        &format!("/users/{ALICE}/mailFolders"),
        json!({"displayName": "Recovered"}),
    )
    .await;
    assert_eq!(status, 201);
    // Reads work with any token; the token issued before keeps its roles.
    let (status, _, _) = get(&sim, &mail_only, &format!("/users/{ALICE}/calendars"), &[]).await;
    assert_eq!(status, 200);
    let (status, _) = post(
        &sim,
        &full,
        &format!("/users/{ALICE}/calendars"),
        json!({"name": "Restored"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(h.counters().folders_created, 2);

    // An app the mailbox does not let in cannot write either.
    h.set_access_granted(ALICE, false).unwrap();
    let (status, v) = post(
        &sim,
        &full,
        &format!("/users/{ALICE}/mailFolders"),
        json!({"displayName": "Other"}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(v["error"]["code"], "ErrorAccessDenied");
    assert_eq!(h.counters().folders_created, 2);
}

#[tokio::test]
async fn graph_folders_calendars_and_contact_folders_are_created_listed_and_filtered() {
    let sim = sim().await;
    let h = sim.handle();
    let t = bearer(&sim).await;
    let top = h.folder_id(ALICE, "msgfolderroot").unwrap();
    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/mailFolders"),
        json!({"displayName": "Recovered"}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["displayName"], "Recovered");
    assert_eq!(v["parentFolderId"], top.as_str());
    let recovered = v["id"].as_str().unwrap().to_string();
    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/mailFolders"),
        json!({"displayName": "RECOVERED"}),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(v["error"]["code"], "ErrorFolderExists");
    assert_eq!(
        v["error"]["message"],
        "A folder with the specified name already exists."
    );
    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/mailFolders/{recovered}/childFolders"),
        json!({"displayName": "O'Brien"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(v["parentFolderId"], recovered.as_str());
    let (status, _) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/mailFolders/{recovered}/childFolders"),
        json!({}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/mailFolders/AAMkAFnope/childFolders"),
        json!({"displayName": "x"}),
    )
    .await;
    assert_eq!(status, 404);
    let (_, _, body) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/mailFolders/{recovered}/childFolders?$filter=displayName%20eq%20'O''Brien'"),
        &[],
    )
    .await;
    let v = json_of(&body);
    assert_eq!(v["value"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["value"][0]["displayName"], "O'Brien");
    let (_, _, body) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/mailFolders?$filter=displayName%20eq%20'inbox'"),
        &[],
    )
    .await;
    let v = json_of(&body);
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["value"][0]["id"],
        h.folder_id(ALICE, "inbox").unwrap().as_str()
    );
    let (status, _, _) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/mailFolders?$filter=startswith(displayName,'In')"),
        &[],
    )
    .await;
    assert_eq!(status, 400);
    assert!(h
        .folder_paths(ALICE)
        .contains(&"Recovered/O'Brien".to_string()));

    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/calendars"),
        json!({"name": "Restored 2026"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        (v["name"].as_str(), v["isDefaultCalendar"].as_bool()),
        (Some("Restored 2026"), Some(false))
    );
    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/calendars"),
        json!({"name": "calendar"}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("ErrorFolderExists"))
    );
    let (_, _, body) = get(&sim, &t, &format!("/users/{ALICE}/calendars"), &[]).await;
    let names: Vec<String> = json_of(&body)["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Calendar", "Restored 2026"]);
    let (_, _, body) = get(&sim, &t, &format!("/users/{ALICE}/calendar"), &[]).await;
    assert_eq!(
        json_of(&body)["id"],
        h.folder_id(ALICE, "calendar").unwrap().as_str()
    );

    // contactFolders lists what is inside the default Contacts folder, as Graph does.
    let contacts = h.folder_id(ALICE, "contacts").unwrap();
    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/contactFolders"),
        json!({"displayName": "Old friends"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(v["parentFolderId"], contacts.as_str());
    let old = v["id"].as_str().unwrap().to_string();
    let (status, _) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/contactFolders"),
        json!({"displayName": "old friends"}),
    )
    .await;
    assert_eq!(status, 409);
    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/contactFolders/{old}/childFolders"),
        json!({"displayName": "School"}),
    )
    .await;
    assert_eq!(
        (status, v["parentFolderId"].as_str()),
        (201, Some(old.as_str()))
    );
    let (_, _, body) = get(&sim, &t, &format!("/users/{ALICE}/contactFolders"), &[]).await;
    let v = json_of(&body);
    let listed: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["Old friends"]);
    let (_, _, body) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/contactFolders/contacts"),
        &[],
    )
    .await;
    assert_eq!(json_of(&body)["id"], contacts.as_str());
    let (_, _, body) = get(
        &sim,
        &t,
        &format!(
            "/users/{ALICE}/contactFolders/{old}/childFolders?$filter=displayName%20eq%20'school'"
        ),
        &[],
    )
    .await;
    assert_eq!(json_of(&body)["value"].as_array().unwrap().len(), 1);
    assert!(h
        .folder_paths(ALICE)
        .contains(&"Contacts/Old friends/School".to_string()));
    assert_eq!(h.counters().folders_created, 5);
}

#[tokio::test]
async fn graph_json_messages_are_drafts_unless_flags_say_otherwise_and_listings_find_them() {
    let sim = sim().await;
    let h = sim.handle();
    let t = bearer(&sim).await;
    let folder = h.add_folder(ALICE, "inbox", "Recovered").unwrap();
    let path = format!("/users/{ALICE}/mailFolders/{folder}/messages");
    let (status, v) = post(
        &sim,
        &t,
        &path,
        graph_message(
            "Figures Q3",
            "<figures-q3@example.com>",
            Some("1"),
            Some("m-1"),
        ),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["isDraft"], false);
    assert_eq!(v["isRead"], true);
    assert_eq!(v["internetMessageId"], "<figures-q3@example.com>");
    assert_eq!(v["sentDateTime"], "2021-02-28T07:15:00Z");
    assert_eq!(v["receivedDateTime"], "2021-02-28T07:16:00Z");
    assert_eq!(v["importance"], "high");
    assert_eq!(v["toRecipients"][0]["emailAddress"]["address"], ALICE);
    assert_eq!(h.counters().drafts_created, 0);
    let r = h.restored(ALICE).pop().unwrap();
    assert_eq!(
        (r.created_via, r.stamp.as_deref()),
        ("graph-json", Some("m-1"))
    );
    assert_eq!(r.folder_path, "Inbox/Recovered");
    // A plain RFC 5322 message a later sync reads like any other.
    let mime = String::from_utf8(r.data.clone()).unwrap();
    for line in [
        "From: \"Emma Lindqvist\" <emma.lindqvist@example.com>\r\n",
        "To: \"Alice Martin\" <alice.martin@example.com>\r\n",
        "Cc: \"Daniel Okafor\" <daniel.okafor@example.com>\r\n",
        "Subject: Figures Q3\r\n",
        "Date: Sun, 28 Feb 2021 07:15:00 +0000\r\n",
        "Message-ID: <figures-q3@example.com>\r\n",
        "Content-Type: text/html; charset=utf-8\r\n",
        "<p>Figures attached.</p>",
    ] {
        assert!(mime.contains(line), "{line:?} in {mime}");
    }

    // No PR_MESSAGE_FLAGS, or the unsent bit: a draft.
    let (_, v) = post(
        &sim,
        &t,
        &path,
        graph_message("No flags", "<nf@example.com>", None, Some("m-2")),
    )
    .await;
    assert_eq!(v["isDraft"], true);
    let (_, v) = post(
        &sim,
        &t,
        &path,
        graph_message("Unsent", "<un@example.com>", Some("9"), None),
    )
    .await;
    assert_eq!(v["isDraft"], true);
    assert_eq!(h.counters().drafts_created, 2);
    // Writing the flag afterwards is accepted and changes nothing (Exchange Online ignores it);
    // the read state does change.
    let draft_id = v["id"].as_str().unwrap().to_string();
    let (status, _, body) = send(
        &sim,
        Some(&t),
        reqwest::Method::PATCH,
        &format!("/users/{ALICE}/messages/{draft_id}"),
        "application/json",
        json!({"isDraft": false, "isRead": false, "singleValueExtendedProperties": [{"id": "Integer 0x0E07", "value": "1"}]})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let patched = json_of(&body);
    assert_eq!(
        (patched["isDraft"].as_bool(), patched["isRead"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(h
        .restored(ALICE)
        .iter()
        .any(|r| r.subject.as_deref() == Some("Unsent") && r.is_draft && !r.is_read));
    let (status, v) = post(
        &sim,
        &t,
        &path,
        graph_message("Bad", "<bad@example.com>", Some("one"), None),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("ErrorInvalidExtendedPropertyValue"))
    );
    let (status, _, body) = send(
        &sim,
        Some(&t),
        reqwest::Method::POST,
        &path,
        "application/json",
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(json_of(&body)["error"]["code"], "RequestBodyRead");

    // A second copy of m-1 is still created, and counted.
    let (status, _) = post(
        &sim,
        &t,
        &path,
        graph_message(
            "Figures Q3",
            "<figures-q3-b@example.com>",
            Some("1"),
            Some("m-1"),
        ),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(h.counters().duplicates_created, 1);

    // The skip-existing listing: ids and message ids, the stamp only where an item has it.
    let expand = format!(
        "singleValueExtendedProperties($filter=id%20eq%20'{}')",
        stamp_id().replace(' ', "%20")
    );
    let first = format!("{path}?$select=id,internetMessageId&$expand={expand}&$top=3");
    let (status, _, body) = get(&sim, &t, &first, &[]).await;
    assert_eq!(status, 200);
    let page1 = json_of(&body);
    let items = page1["value"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    assert!(items
        .iter()
        .all(|i| i.get("subject").is_none() && i["internetMessageId"].is_string()));
    let next = page1["@odata.nextLink"].as_str().unwrap().to_string();
    let (_, _, body) = get(&sim, &t, &next, &[]).await;
    let page2 = json_of(&body);
    let mut all = items;
    all.extend(page2["value"].as_array().unwrap().iter().cloned());
    assert_eq!(all.len(), 4);
    assert!(page2.get("@odata.nextLink").is_none());
    let stamps: Vec<&str> = all
        .iter()
        .filter_map(|i| i["singleValueExtendedProperties"][0]["value"].as_str())
        .collect();
    assert_eq!(stamps, ["m-1", "m-2", "m-1"]);
    assert!(all
        .iter()
        .filter(|i| i.get("singleValueExtendedProperties").is_some())
        .all(|i| i["singleValueExtendedProperties"][0]["id"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&stamp_id())));

    let filtered = |f: &str| {
        format!(
            "{path}?$filter={}",
            f.replace(' ', "%20")
                .replace('{', "%7B")
                .replace('}', "%7D")
        )
    };
    let (_, _, body) = get(
        &sim,
        &t,
        &filtered("internetMessageId eq '<nf@example.com>'"),
        &[],
    )
    .await;
    assert_eq!(json_of(&body)["value"].as_array().unwrap().len(), 1);
    let by_stamp = format!(
        "singleValueExtendedProperties/Any(ep: ep/id eq '{}' and ep/value eq 'm-1')",
        stamp_id().to_lowercase()
    );
    let (_, _, body) = get(&sim, &t, &filtered(&by_stamp), &[]).await;
    assert_eq!(json_of(&body)["value"].as_array().unwrap().len(), 2);
    let (status, _, _) = get(&sim, &t, &filtered("receivedDateTime gt 2020-01-01"), &[]).await;
    assert_eq!(status, 400);
    let (_, _, body) = get(&sim, &t, &format!("/users/{ALICE}/messages?$filter=internetMessageId%20eq%20'%3Cseed-002.49@mail.example.com%3E'"), &[]).await;
    assert_eq!(
        json_of(&body)["value"].as_array().unwrap().len(),
        1,
        "mailbox-wide listing"
    );

    // A later delta of the folder reports them.
    let (_, _, body) = get(
        &sim,
        &t,
        &format!("{path}/delta"),
        &["odata.maxpagesize=50"],
    )
    .await;
    assert_eq!(json_of(&body)["value"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn graph_mime_creates_are_always_drafts_and_bad_base64_is_refused() {
    let sim = sim().await;
    let h = sim.handle();
    let t = bearer(&sim).await;
    let mime = mime_message("Imported as MIME", "<mime-1@example.com>");
    let (status, _, body) = send(
        &sim,
        Some(&t),
        reqwest::Method::POST,
        &format!("/users/{ALICE}/mailFolders/inbox/messages"),
        "text/plain",
        b64(&mime).into_bytes(),
    )
    .await;
    assert_eq!(status, 201);
    let v = json_of(&body);
    assert_eq!(v["isDraft"], true);
    assert_eq!(v["subject"], "Imported as MIME");
    assert_eq!(v["body"]["content"], "Restored body.");
    let r = h.restored(ALICE).pop().unwrap();
    assert_eq!((r.created_via, r.is_draft), ("graph-mime", true));
    assert_eq!(r.data, mime);
    assert_eq!(h.counters().drafts_created, 1);

    let (status, _, body) = send(
        &sim,
        Some(&t),
        reqwest::Method::POST,
        &format!("/users/{ALICE}/messages"),
        "text/plain",
        b"this is not base64!".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    let v = json_of(&body);
    assert_eq!(v["error"]["code"], "ErrorMimeContentInvalidBase64String");
    assert_eq!(
        v["error"]["message"],
        "Invalid base64 string for MIME content."
    );
    assert_eq!(h.restored(ALICE).len(), 1);
}

#[tokio::test]
async fn graph_attachments_in_one_post_or_through_an_upload_session() {
    let sim = sim().await;
    let h = sim.handle();
    let t = bearer(&sim).await;
    let (_, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/mailFolders/inbox/messages"),
        graph_message("With files", "<files@example.com>", Some("1"), Some("a-1")),
    )
    .await;
    let id = v["id"].as_str().unwrap().to_string();
    let small = b"quarter,revenue\r\nQ3,1200\r\n".to_vec();
    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/messages/{id}/attachments"),
        json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "figures.csv", "contentType": "text/csv",
               "contentBytes": b64(&small), "isInline": false}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        (v["name"].as_str(), v["size"].as_u64()),
        (Some("figures.csv"), Some(small.len() as u64))
    );
    assert!(v["id"].is_string());

    // An attached message as an Outlook item: stored as message/rfc822; without PR_MESSAGE_FLAGS
    // saying it was sent, it is a draft inside the message (counted); an event item is refused.
    let item = |flags: Option<&str>| {
        let mut m = graph_message("Original request", "<original@example.com>", flags, None);
        m["@odata.type"] = json!("#microsoft.graph.message");
        json!({"@odata.type": "#microsoft.graph.itemAttachment", "name": "Original request", "item": m})
    };
    let (_, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/mailFolders/inbox/messages"),
        graph_message(
            "With a message",
            "<with-message@example.com>",
            Some("1"),
            Some("a-2"),
        ),
    )
    .await;
    let with_message = v["id"].as_str().unwrap().to_string();
    let drafts = h.counters().drafts_created;
    let added = h.counters().attachments_added;
    let url = format!("/users/{ALICE}/messages/{with_message}/attachments");
    let (status, v) = post(&sim, &t, &url, item(Some("1"))).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["@odata.type"], "#microsoft.graph.itemAttachment");
    assert_eq!(
        h.counters().drafts_created,
        drafts,
        "sent and read: no draft"
    );
    let (status, _) = post(&sim, &t, &url, item(None)).await;
    assert_eq!(status, 201);
    assert_eq!(
        h.counters().drafts_created,
        drafts + 1,
        "a draft inside the message"
    );
    let (status, v) = post(
        &sim,
        &t,
        &url,
        json!({"@odata.type": "#microsoft.graph.itemAttachment", "name": "Meeting", "item": {"@odata.type": "#microsoft.graph.event", "subject": "Meeting"}}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("ErrorInvalidRequest"))
    );
    let stored = h
        .restored(ALICE)
        .into_iter()
        .find(|r| r.attachment_records.iter().any(|a| a.is_item))
        .unwrap();
    let text = String::from_utf8_lossy(&stored.data).to_string();
    assert!(
        text.contains("Content-Type: message/rfc822") && text.contains("Subject: Original request"),
        "the attached message is a message part: {text}"
    );
    assert_eq!(h.counters().attachments_added, added + 2);

    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/messages/{id}/attachments"),
        json!({"@odata.type": "#microsoft.graph.fileAttachment", "name": "big.bin", "contentBytes": b64(&vec![7u8; 3 * 1024 * 1024 + 1])}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (413, Some("ErrorRequestEntityTooLarge"))
    );
    let (status, _) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/messages/{id}/attachments"),
        json!({"@odata.type": "#microsoft.graph.itemAttachment", "name": "mail.eml"}),
    )
    .await;
    assert_eq!(status, 400);

    // Large files: a session, then ranges in order, without the Authorization header.
    let session_path = format!("/users/{ALICE}/messages/{id}/attachments/createUploadSession");
    let (status, v) = post(
        &sim,
        &t,
        &session_path,
        json!({"AttachmentItem": {"attachmentType": "file", "name": "scan.pdf", "size": 1024}}),
    )
    .await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (
            400,
            Some("ErrorAttachmentSizeShouldNotBeLessThanMinimumSize")
        )
    );
    let file: Vec<u8> = (0..3_600_000u32).map(|i| (i % 251) as u8).collect();
    let (status, v) = post(
        &sim,
        &t,
        &session_path,
        json!({"AttachmentItem": {"attachmentType": "file", "name": "scan.pdf", "size": file.len(), "contentType": "application/pdf"}}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["nextExpectedRanges"], json!(["0-"]));
    assert!(v["expirationDateTime"].is_string());
    let url = v["uploadUrl"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/upload/", sim.base_url())),
        "{url}"
    );
    let put = |range: String, bytes: Vec<u8>, auth: bool| {
        let url = url.clone();
        let token = t.clone();
        async move {
            let mut req = reqwest::Client::new()
                .put(url)
                .header("Content-Type", "application/octet-stream")
                .header("Content-Range", range)
                .body(bytes);
            if auth {
                req = req.bearer_auth(token);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            (status, headers, resp.bytes().await.unwrap().to_vec())
        }
    };
    let total = file.len();
    let cut = 2 * 1024 * 1024;
    let (status, _, _) = put(
        format!("bytes 0-{}/{total}", cut - 1),
        file[..cut].to_vec(),
        true,
    )
    .await;
    assert_eq!(status, 401, "the URL is pre-authenticated");
    let (status, _, _) = put(
        format!("bytes 0-{}/{total}", cut),
        file[..cut].to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 400, "the range does not match the bytes");
    let (status, _, _) = put(
        format!("0-{}/{total}", cut - 1),
        file[..cut].to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 400, "not a Content-Range");
    let (status, _, body) = put(
        format!("bytes 0-{}/{total}", cut - 1),
        file[..cut].to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        json_of(&body)["nextExpectedRanges"],
        json!([cut.to_string()])
    );
    let (status, _, body) = put(
        format!("bytes 0-{}/{total}", cut - 1),
        file[..cut].to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 416, "ranges come in order");
    assert_eq!(
        json_of(&body)["nextExpectedRanges"],
        json!([cut.to_string()])
    );
    let (status, headers, _) = put(
        format!("bytes {cut}-{}/{total}", total - 1),
        file[cut..].to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 201);
    assert!(headers["location"]
        .to_str()
        .unwrap()
        .contains("/Attachments('"));
    let (status, _, _) = put(
        format!("bytes {cut}-{}/{total}", total - 1),
        file[cut..].to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 404, "a finished session is gone");

    let r = h
        .restored(ALICE)
        .into_iter()
        .find(|r| r.subject.as_deref() == Some("With files"))
        .unwrap();
    assert_eq!(
        r.attachments,
        [
            ("figures.csv".to_string(), small.len() as u64),
            ("scan.pdf".to_string(), total as u64)
        ]
    );
    assert_eq!(
        r.attachment_records
            .iter()
            .map(|a| a.via_upload_session)
            .collect::<Vec<_>>(),
        [false, true]
    );
    // Two files here, two item attachments on the other message.
    assert_eq!(h.counters().attachments_added, 4);
    assert_eq!(
        (h.counters().upload_sessions, h.counters().restored_items),
        (1, 2)
    );
    // The attachments are parts of the stored MIME: a later sync downloads them.
    let (_, _, mime) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/messages/{id}/$value"),
        &[],
    )
    .await;
    let mime = String::from_utf8(mime).unwrap();
    assert!(mime.contains("multipart/mixed"));
    assert!(mime.contains("filename=\"figures.csv\"") && mime.contains("filename=\"scan.pdf\""));
    assert!(mime.contains(&b64(&small)));

    // Ranges over 4 MB are refused; a cancelled session is gone.
    let big = 5 * 1024 * 1024;
    let (_, v) = post(
        &sim,
        &t,
        &session_path,
        json!({"AttachmentItem": {"attachmentType": "file", "name": "video.mp4", "size": big}}),
    )
    .await;
    let url = v["uploadUrl"].as_str().unwrap().to_string();
    let (status, _, _) = {
        let resp = reqwest::Client::new()
            .put(&url)
            .header("Content-Range", format!("bytes 0-{}/{big}", big - 1))
            .body(vec![0u8; big])
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), (), ())
    };
    assert_eq!(status, 400);
    let resp = reqwest::Client::new().delete(&url).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    let resp = reqwest::Client::new()
        .put(&url)
        .header("Content-Range", "bytes 0-0/5242880")
        .body(vec![0u8])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

fn graph_event_body(attendees: Value, transaction: &str) -> Value {
    json!({
        "subject": "Harbour review",
        "body": {"contentType": "text", "content": "Bring the risk list."},
        "start": {"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-03-02T10:00:00.0000000", "timeZone": "W. Europe Standard Time"},
        "location": {"displayName": "Room 4"},
        "attendees": attendees,
        "recurrence": {
            "pattern": {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday"], "index": "first"},
            "range": {"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-12-31", "recurrenceTimeZone": "W. Europe Standard Time"}
        },
        "categories": ["Harbour"],
        "isReminderOn": true,
        "reminderMinutesBeforeStart": 10,
        "showAs": "tentative",
        "sensitivity": "private",
        "transactionId": transaction,
        "singleValueExtendedProperties": [{"id": stamp_id(), "value": "e-1"}],
    })
}

#[tokio::test]
async fn graph_events_send_invitations_and_a_repeated_transaction_id_creates_nothing() {
    let sim = sim().await;
    let h = sim.handle();
    let t = bearer(&sim).await;
    let people = json!([
        {"type": "required", "emailAddress": {"name": "Daniel Okafor", "address": "daniel.okafor@example.com"}},
        {"type": "optional", "emailAddress": {"name": "Emma Lindqvist", "address": "emma.lindqvist@example.com"}},
    ]);
    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/calendar/events"),
        graph_event_body(people.clone(), "tx-1"),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["subject"], "Harbour review");
    // 09:00 in Berlin in March is 08:00 UTC.
    assert_eq!(v["start"]["dateTime"], "2026-03-02T08:00:00.0000000");
    assert_eq!(v["originalStartTimeZone"], "W. Europe Standard Time");
    assert_eq!(v["recurrence"]["pattern"]["type"], "relativeMonthly");
    assert_eq!(v["recurrence"]["range"]["type"], "endDate");
    assert_eq!(v["recurrence"]["range"]["endDate"], "2026-12-31");
    assert_eq!(v["showAs"], "tentative");
    assert_eq!(v["reminderMinutesBeforeStart"], 10);
    assert_eq!(v["attendees"][1]["type"], "optional");
    assert_eq!(v["organizer"]["emailAddress"]["address"], ALICE);
    // Graph has no way to save a meeting without inviting.
    assert_eq!(h.counters().invitations_sent, 2);
    let r = h.restored(ALICE).pop().unwrap();
    assert_eq!(
        r.attendees_invited,
        ["daniel.okafor@example.com", "emma.lindqvist@example.com"]
    );
    assert_eq!(
        (r.kind, r.created_via, r.stamp.as_deref()),
        (ItemKind::CalendarItem, "graph-json", Some("e-1"))
    );

    // A retry with the same transactionId answers the first event.
    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/calendar/events"),
        graph_event_body(people, "tx-1"),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(v["id"], id.as_str());
    assert_eq!(h.restored(ALICE).len(), 1);
    assert_eq!(h.counters().invitations_sent, 2);

    // Without attendees nobody is invited; into a calendar of its own.
    let (_, cal) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/calendars"),
        json!({"name": "Restored"}),
    )
    .await;
    let cal = cal["id"].as_str().unwrap().to_string();
    let (status, _) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/calendars/{cal}/events"),
        graph_event_body(json!([]), "tx-2"),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(h.counters().invitations_sent, 2);
    assert_eq!(h.restored(ALICE).pop().unwrap().folder_path, "Restored");

    // EWS GetItem of the Graph-created event serves the same item.
    let items = h.list_items(ALICE, "calendar").unwrap();
    let ews_id = h.item_ids(ALICE, *items.last().unwrap()).unwrap().ews;
    let (_, got) = ews_as(&sim, ALICE, &get_item_all(&ews_id)).await;
    assert!(
        got.contains("<t:Start>2026-03-02T08:00:00Z</t:Start>"),
        "{got}"
    );
    assert!(got.contains("<t:Sensitivity>Private</t:Sensitivity>"));
    assert!(got.contains("<t:DayOfWeekIndex>First</t:DayOfWeekIndex>"));

    // Listing events for skip-existing.
    let expand = format!(
        "singleValueExtendedProperties($filter=id%20eq%20'{}')",
        stamp_id().replace(' ', "%20")
    );
    let (_, _, body) = get(
        &sim,
        &t,
        &format!("/users/{ALICE}/calendars/{cal}/events?$select=id,iCalUId&$expand={expand}"),
        &[],
    )
    .await;
    let v = json_of(&body);
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["value"][0]["singleValueExtendedProperties"][0]["value"],
        "e-1"
    );
    assert!(v["value"][0]["iCalUId"].is_string() && v["value"][0].get("subject").is_none());

    let mut no_start = graph_event_body(json!([]), "tx-3");
    no_start.as_object_mut().unwrap().remove("start");
    let (status, v) = post(&sim, &t, &format!("/users/{ALICE}/events"), no_start).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("ErrorPropertyValidationFailure"))
    );

    // Create faults by subject: throttled, unavailable, corrupt.
    h.fail_creates(
        ALICE,
        "Harbour",
        ItemFault::ServerBusy { backoff_ms: 1500 },
        1,
    );
    h.fail_creates(ALICE, "Harbour", ItemFault::Unavailable, 1);
    h.fail_creates(ALICE, "Harbour", ItemFault::MimeConversionFailed, 1);
    let before = h.restored(ALICE).len();
    let mut codes = Vec::new();
    for n in 0..3 {
        let (status, _, body) = send(
            &sim,
            Some(&t),
            reqwest::Method::POST,
            &format!("/users/{ALICE}/events"),
            "application/json",
            graph_event_body(json!([]), &format!("tx-f{n}"))
                .to_string()
                .into_bytes(),
        )
        .await;
        codes.push((
            status,
            json_of(&body)["error"]["code"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        ));
    }
    assert_eq!(
        codes,
        [
            (429, "TooManyRequests".to_string()),
            (503, "ServiceUnavailable".to_string()),
            (400, "ErrorCorruptData".to_string())
        ]
    );
    assert_eq!(h.restored(ALICE).len(), before);
}

#[tokio::test]
async fn graph_contacts_round_trip_and_are_listed_with_their_stamp() {
    let sim = sim().await;
    let h = sim.handle();
    let t = bearer(&sim).await;
    let contact = json!({
        "givenName": "Ingrid", "surname": "Berg", "middleName": "Maria", "nickName": "Inge", "displayName": "Ingrid Berg",
        "fileAs": "Berg, Ingrid", "initials": "I.B.", "title": "Dr.", "generation": "Jr.",
        "companyName": "Nordic Freight", "department": "Logistics", "jobTitle": "Head of Routes", "officeLocation": "Building B",
        "manager": "Sven", "assistantName": "Per",
        "emailAddresses": [{"name": "Ingrid Berg", "address": "ingrid@nordicfreight.example"}, {"name": "", "address": "ingrid.berg@example.org"}],
        "businessPhones": ["+46 46 555 0100", "+46 46 555 0101"], "homePhones": ["+46 46 555 0200"], "mobilePhone": "+46 70 555 0111",
        "businessAddress": {"street": "Hamngatan 2", "city": "Lund", "state": "Skane", "postalCode": "222 21", "countryOrRegion": "Sweden"},
        "homeAddress": {},
        "birthday": "1979-05-17T11:59:00Z", "personalNotes": "Met in Lund; prefers mornings.", "categories": ["Partners"],
        "businessHomePage": "https://nordicfreight.example", "imAddresses": ["sip:ingrid@nordicfreight.example"],
        "singleValueExtendedProperties": [{"id": stamp_id(), "value": "c-1"}],
    });
    let (status, v) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/contactFolders/contacts/contacts"),
        contact.clone(),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    for (key, want) in [
        ("displayName", json!("Ingrid Berg")),
        ("middleName", json!("Maria")),
        ("nickName", json!("Inge")),
        ("title", json!("Dr.")),
        ("generation", json!("Jr.")),
        ("companyName", json!("Nordic Freight")),
        ("department", json!("Logistics")),
        ("jobTitle", json!("Head of Routes")),
        ("officeLocation", json!("Building B")),
        ("manager", json!("Sven")),
        ("assistantName", json!("Per")),
        ("fileAs", json!("Berg, Ingrid")),
        (
            "businessPhones",
            json!(["+46 46 555 0100", "+46 46 555 0101"]),
        ),
        ("homePhones", json!(["+46 46 555 0200"])),
        ("mobilePhone", json!("+46 70 555 0111")),
        ("birthday", json!("1979-05-17T11:59:00Z")),
        ("personalNotes", json!("Met in Lund; prefers mornings.")),
        ("imAddresses", json!(["sip:ingrid@nordicfreight.example"])),
        ("businessHomePage", json!("https://nordicfreight.example")),
    ] {
        assert_eq!(v[key], want, "{key}");
    }
    assert_eq!(v["businessAddress"]["city"], "Lund");
    assert_eq!(v["emailAddresses"][1]["address"], "ingrid.berg@example.org");
    let r = h.restored(ALICE).pop().unwrap();
    assert_eq!(
        (r.kind, r.created_via, r.stamp.as_deref()),
        (ItemKind::Contact, "graph-json", Some("c-1"))
    );
    assert_eq!(r.folder_path, "Contacts");

    // The same contact through EWS GetItem, and in a listing of the folder with its stamp.
    let items = h.list_items(ALICE, "contacts").unwrap();
    let ews_id = h.item_ids(ALICE, *items.last().unwrap()).unwrap().ews;
    let (_, got) = ews_as(&sim, ALICE, &get_item_all(&ews_id)).await;
    for fragment in [
        "<t:Entry Key=\"BusinessPhone2\">+46 46 555 0101</t:Entry>",
        "<t:Entry Key=\"HomePhone\">+46 46 555 0200</t:Entry>",
        "<t:OfficeLocation>Building B</t:OfficeLocation>",
        "<t:Body BodyType=\"Text\">Met in Lund; prefers mornings.</t:Body>",
    ] {
        assert!(got.contains(fragment), "{fragment} in {got}");
    }
    let expand = format!(
        "singleValueExtendedProperties($filter=id%20eq%20'{}')",
        stamp_id().replace(' ', "%20")
    );
    let (_, _, body) = get(
        &sim,
        &t,
        &format!(
            "/users/{ALICE}/contactFolders/contacts/contacts?$select=id&$expand={expand}&$top=50"
        ),
        &[],
    )
    .await;
    let v = json_of(&body);
    let listed = v["value"].as_array().unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!(
        listed
            .iter()
            .filter(|c| c.get("singleValueExtendedProperties").is_some())
            .count(),
        1
    );
    let (status, _) = post(
        &sim,
        &t,
        &format!("/users/{ALICE}/contactFolders/inbox/contacts"),
        contact,
    )
    .await;
    assert_eq!(status, 404, "inbox is no contact folder");
}

#[tokio::test]
async fn graph_batch_routes_restore_writes_with_throttling_and_roles() {
    let sim = sim().await;
    let h = sim.handle();
    let t = bearer(&sim).await;
    let folder = h.folder_id(ALICE, "inbox").unwrap();
    let json_headers = json!({"Content-Type": "application/json"});
    let batch = |requests: Value, token: String| {
        let url = format!("{}/$batch", sim.graph_url());
        async move {
            let resp = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&json!({"requests": requests}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let v: Value = resp.json().await.unwrap();
            let mut by_id: Vec<(String, u16, Value)> = v["responses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["id"].as_str().unwrap().to_string(),
                        r["status"].as_u64().unwrap() as u16,
                        r.clone(),
                    )
                })
                .collect();
            by_id.sort_by(|a, b| a.0.cmp(&b.0));
            by_id
        }
    };
    let requests = json!([
        {"id": "1", "method": "POST", "url": format!("/users/{ALICE}/mailFolders/{folder}/messages"), "headers": json_headers,
         "body": graph_message("Batched", "<batched@example.com>", Some("1"), Some("b-1"))},
        {"id": "2", "method": "POST", "url": format!("/users/{ALICE}/contacts"), "headers": json_headers,
         "body": {"givenName": "Batch", "surname": "Contact"}},
        {"id": "3", "method": "POST", "url": format!("/users/{ALICE}/contacts"), "body": {"givenName": "No", "surname": "Type"}},
        {"id": "4", "method": "GET", "url": format!("/users/{ALICE}/mailFolders/{folder}/messages?$filter=internetMessageId%20eq%20'%3Cbatched@example.com%3E'"), "dependsOn": ["1"]},
    ]);
    let out = batch(requests.clone(), t.clone()).await;
    let statuses: Vec<u16> = out.iter().map(|(_, s, _)| *s).collect();
    assert_eq!(statuses, [201, 201, 400, 200], "{out:?}");
    assert_eq!(out[0].2["body"]["isDraft"], false);
    assert_eq!(out[3].2["body"]["value"].as_array().unwrap().len(), 1);
    assert_eq!(h.counters().endpoint("batch:graph:messages.create"), 1);
    assert_eq!(h.restored(ALICE).len(), 2);

    // Roles are checked per sub-request.
    h.set_graph_roles(vec!["Mail.ReadWrite".into()]);
    let mail_only = bearer(&sim).await;
    let out = batch(requests.clone(), mail_only).await;
    assert_eq!(out[1].1, 403);
    assert_eq!(out[1].2["body"]["error"]["code"], "ErrorAccessDenied");

    // Throttling applies to writes, in a batch and outside it.
    h.set_graph_throttle(Some(ThrottleRule::EveryNth {
        n: 1,
        retry_after_secs: 1.5,
    }));
    let out = batch(requests, t.clone()).await;
    assert!(
        out.iter()
            .filter(|(id, _, _)| id != "3")
            .all(|(_, s, _)| *s == 429 || *s == 424),
        "{out:?}"
    );
    assert_eq!(out[0].2["headers"]["Retry-After"], "1.500");
    let (status, _, headers) = {
        let (s, h2, _) = send(
            &sim,
            Some(&t),
            reqwest::Method::POST,
            &format!("/users/{ALICE}/mailFolders"),
            "application/json",
            json!({"displayName": "Throttled"}).to_string().into_bytes(),
        )
        .await;
        (s, (), h2)
    };
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "1.500");
    h.set_graph_throttle(None);
    assert!(!h.folder_paths(ALICE).contains(&"Throttled".to_string()));
}

// ---- occurrences, deletes and contact photos ------------------------------------------------

/// The seed's weekly series (six Mondays from 8 September 2025; the fourth deleted) of Alice.
fn weekly_series(h: &exchange_sim::SimHandle) -> exchange_sim::mailbox::ItemRef {
    h.list_items(ALICE, "calendar")
        .unwrap()
        .into_iter()
        .find(|i| String::from_utf8_lossy(&h.item_data(ALICE, *i).unwrap()).contains("RRULE"))
        .unwrap()
}

#[tokio::test]
async fn ews_occurrence_changes_and_deletes_answer_as_exchange_documents() {
    let sim = sim().await;
    let h = sim.handle();
    let series = h.item_ids(ALICE, weekly_series(&h)).unwrap().ews;
    let occurrence = |index: &str| {
        format!("<t:OccurrenceItemId RecurringMasterId=\"{series}\" InstanceIndex=\"{index}\"/>")
    };
    let delete = |attrs: &str, ids: &str| {
        format!("<m:DeleteItem DeleteType=\"HardDelete\"{attrs}><m:ItemIds>{ids}</m:ItemIds></m:DeleteItem>")
    };
    // A calendar delete must say whom to tell; out of range and already deleted are refused.
    let (_, body) = ews_as(&sim, ALICE, &delete("", &occurrence("2"))).await;
    assert_eq!(codes(&body), ["ErrorSendMeetingCancellationsRequired"]);
    let none = " SendMeetingCancellations=\"SendToNone\"";
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &delete(
            none,
            &[occurrence("7"), occurrence("4"), occurrence("x")].concat(),
        ),
    )
    .await;
    assert_eq!(
        codes(&body),
        [
            "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
            "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
            "ErrorInvalidValueForProperty",
        ]
    );
    let (_, body) = ews_as(&sim, ALICE, &delete(none, &occurrence("2"))).await;
    assert_eq!(codes(&body), ["NoError"]);
    // Telling the attendees is counted: two of them get a cancellation.
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &delete(
            " SendMeetingCancellations=\"SendToAllAndSaveCopy\"",
            &occurrence("5"),
        ),
    )
    .await;
    assert_eq!(codes(&body), ["NoError"]);
    assert_eq!(h.counters().cancellations_sent, 2);

    let update = |attrs: &str, index: &str, start: &str| {
        format!(
            "<m:UpdateItem ConflictResolution=\"AlwaysOverwrite\"{attrs}><m:ItemChanges><t:ItemChange>{}<t:Updates>\
<t:SetItemField><t:FieldURI FieldURI=\"calendar:Start\"/><t:CalendarItem><t:Start>{start}</t:Start></t:CalendarItem></t:SetItemField>\
</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>",
            occurrence(index)
        )
    };
    let (_, body) = ews_as(&sim, ALICE, &update("", "1", "2025-09-08T09:00:00Z")).await;
    assert_eq!(
        codes(&body),
        ["ErrorSendMeetingInvitationsOrCancellationsRequired"]
    );
    let to_none = " SendMeetingInvitationsOrCancellations=\"SendToNone\"";
    // The first occurrence moved past the next one left (the third): refused.
    let (_, body) = ews_as(&sim, ALICE, &update(to_none, "1", "2025-09-23T15:00:00Z")).await;
    assert_eq!(codes(&body), ["ErrorOccurrenceCrossingBoundary"]);
    let (_, body) = ews_as(&sim, ALICE, &update(to_none, "2", "2025-09-16T08:00:00Z")).await;
    assert_eq!(
        codes(&body),
        ["ErrorCalendarOccurrenceIsDeletedFromRecurrence"]
    );
    let (_, body) = ews_as(&sim, ALICE, &update(to_none, "1", "2025-09-09T08:00:00Z")).await;
    assert_eq!(codes(&body), ["NoError"]);
    let stored = String::from_utf8(h.item_data(ALICE, weekly_series(&h)).unwrap()).unwrap();
    assert!(
        stored.contains("RECURRENCE-ID;TZID=Europe/Zurich:20250908T100000"),
        "{stored}"
    );
    assert!(
        stored.contains("EXDATE;TZID=Europe/Zurich:20250915T100000"),
        "{stored}"
    );

    // The whole series by its id.
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &delete(none, &format!("<t:ItemId Id=\"{series}\"/>")),
    )
    .await;
    assert_eq!(codes(&body), ["NoError"]);
    let (_, body) = ews_as(
        &sim,
        ALICE,
        &delete(none, &format!("<t:ItemId Id=\"{series}\"/>")),
    )
    .await;
    assert_eq!(codes(&body), ["ErrorItemNotFound"]);
    let (status, body) = ews_as(&sim, ALICE, "<m:DeleteItem><m:ItemIds/></m:DeleteItem>").await;
    assert_eq!(status, 500, "DeleteType is required: {body}");
}

#[tokio::test]
async fn ews_create_attachment_sets_a_contact_photo() {
    let sim = sim().await;
    let h = sim.handle();
    let farid = h.list_items(ALICE, "contacts").unwrap()[2];
    let id = h.item_ids(ALICE, farid).unwrap().ews;
    let attach = |photo: &str, content: &str| {
        format!(
            "<m:CreateAttachment><m:ParentItemId Id=\"{id}\"/><m:Attachments><t:FileAttachment>\
<t:Name>ContactPicture.jpg</t:Name><t:ContentType>image/jpeg</t:ContentType><t:IsContactPhoto>{photo}</t:IsContactPhoto>\
<t:Content>{content}</t:Content></t:FileAttachment></m:Attachments></m:CreateAttachment>"
        )
    };
    let jpeg = b64(b"\xff\xd8\xff\xe0 a tiny jpeg");
    let (_, body) = ews_as(&sim, ALICE, &attach("false", &jpeg)).await;
    assert_eq!(
        codes(&body),
        ["ErrorInvalidOperation"],
        "a contact keeps only its photo"
    );
    let (status, _) = ews_as(&sim, ALICE, &attach("true", "%%%")).await;
    assert_eq!(status, 500, "bad base64 is a schema fault");
    let (_, body) = ews_as(&sim, ALICE, &attach("true", &jpeg)).await;
    assert_eq!(codes(&body), ["NoError"]);
    let vcf = String::from_utf8(h.item_data(ALICE, farid).unwrap()).unwrap();
    assert!(
        vcf.contains(&format!("PHOTO;ENCODING=b;TYPE=JPEG:{jpeg}")),
        "{vcf}"
    );
    assert_eq!(h.counters().photos_set, 1);
}

#[tokio::test]
async fn graph_instances_are_changed_and_deleted_one_by_one() {
    let sim = sim().await;
    let h = sim.handle();
    let t = bearer(&sim).await;
    let series = weekly_series(&h);
    let id = h.item_ids(ALICE, series).unwrap().graph_immutable;
    let list = format!(
        "/users/{ALICE}/events/{id}/instances?startDateTime=2025-09-01T00:00:00Z&endDateTime=2025-12-01T00:00:00Z"
    );
    let (_, _, body) = get(&sim, &t, &list, &["IdType=\"ImmutableId\""]).await;
    let instances = json_of(&body)["value"].as_array().unwrap().clone();
    let second = instances[1]["id"].as_str().unwrap().to_owned();
    let patch = |when: &str| {
        json!({"start": {"dateTime": when, "timeZone": "W. Europe Standard Time"},
               "end": {"dateTime": "2025-09-16T12:00:00", "timeZone": "W. Europe Standard Time"},
               "subject": "Moved"})
        .to_string()
        .into_bytes()
    };
    let path = format!("/users/{ALICE}/events/{second}");
    let (status, _, body) = send(
        &sim,
        Some(&t),
        reqwest::Method::PATCH,
        &path,
        "application/json",
        patch("2025-09-16T11:00:00"),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let v = json_of(&body);
    assert_eq!(
        (v["type"].as_str(), v["subject"].as_str()),
        (Some("exception"), Some("Moved"))
    );
    assert_eq!(v["originalStart"], "2025-09-15T08:00:00Z");
    // Past the next occurrence: refused.
    let (status, _, _) = send(
        &sim,
        Some(&t),
        reqwest::Method::PATCH,
        &path,
        "application/json",
        patch("2025-09-30T11:00:00"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, _) = send(
        &sim,
        Some(&t),
        reqwest::Method::DELETE,
        &path,
        "application/json",
        Vec::new(),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = send(
        &sim,
        Some(&t),
        reqwest::Method::DELETE,
        &path,
        "application/json",
        Vec::new(),
    )
    .await;
    assert_eq!(status, 404, "deleted already");
    let (_, _, body) = get(&sim, &t, &list, &[]).await;
    assert_eq!(json_of(&body)["value"].as_array().unwrap().len(), 4);

    // A contact's photo: an image body only.
    let contact = h
        .item_ids(ALICE, h.list_items(ALICE, "contacts").unwrap()[2])
        .unwrap()
        .graph_immutable;
    let photo = format!("/users/{ALICE}/contacts/{contact}/photo/$value");
    let (status, _, _) = send(
        &sim,
        Some(&t),
        reqwest::Method::PUT,
        &photo,
        "text/plain",
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _, _) = send(
        &sim,
        Some(&t),
        reqwest::Method::PUT,
        &photo,
        "image/jpeg",
        b"\xff\xd8\xff\xe0".to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, body) = get(&sim, &t, &photo, &[]).await;
    assert_eq!((status, body), (200, b"\xff\xd8\xff\xe0".to_vec()));
}
