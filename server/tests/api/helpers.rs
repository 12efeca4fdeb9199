use std::net::SocketAddr;

use accounts::Accounts;
use archive::{Archive, FolderKind, FolderSpec, NewMailbox, PutItem, Timestamp};
use server::config::Settings;
use server::{archive_on, open_database, Application};
use tokio::sync::oneshot;

pub struct TestApp {
    pub address: String,
    pub accounts: Accounts,
    pub roles: access::Roles,
    pub audit: access::AuditLog,
    pub archive: Archive,
    /// The portal's own sync service: connections, tasks and syncs set up without the UI.
    pub sync: syncer::SyncService,
    pub client: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
    _data: tempfile::TempDir,
}

/// Starts the portal on a free port with an empty data folder, on the kit's database (each
/// backend in turn); stops it when dropped.
pub async fn spawn_app(kit: &testkit::TestDb) -> TestApp {
    spawn_app_with(kit, |_| {}).await
}

/// [`spawn_app`] with settings changed first (single sign-on, a fixed port, ...).
pub async fn spawn_app_with(kit: &testkit::TestDb, change: impl FnOnce(&mut Settings)) -> TestApp {
    let data = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::for_tests(data.path()).expect("test settings");
    settings.storage.database_url = Some(kit.url.clone().into());
    change(&mut settings);
    // The test's own view of the stores, on the portal's database.
    let db = open_database(&settings).await.expect("database");
    let archive = archive_on(&settings, db.clone()).expect("archive");
    let accounts = Accounts::new(db.clone());
    let roles = access::Roles::new(db.clone());
    let audit = access::AuditLog::new(db);
    let app = Application::build(&settings).await.expect("build app");
    let addr: SocketAddr = app.local_addr().expect("address");
    let sync = app.sync().clone();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        address: format!("http://{addr}"),
        accounts,
        roles,
        audit,
        archive,
        sync,
        // A call that hangs is a failure with a name, not a suite that never ends.
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("client"),
        _shutdown: tx,
        _data: data,
    }
}

impl TestApp {
    pub async fn add_user(&self, username: &str, password: &str) {
        self.accounts
            .create_user(username, username, Some(password))
            .await
            .expect("create user");
    }

    /// Calls a server function the way the hydrated page does (form-encoded POST, same origin).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.call_as(None, endpoint, form).await
    }

    /// The same, with a session cookie.
    pub async fn call_as(
        &self,
        cookie: Option<&str>,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/api/{endpoint}", self.address))
            .header("Origin", &self.address)
            .form(form);
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        request.send().await.expect("request")
    }

    /// A GET as a browser sends it (browsers accept HTML, which is what makes a page redirect
    /// answer with a real 302).
    pub async fn get_as(&self, cookie: Option<&str>, path: &str) -> reqwest::Response {
        let mut request = self
            .client
            .get(format!("{}{path}", self.address))
            .header("Accept", "text/html,*/*");
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        request.send().await.expect("request")
    }

    /// A user who owns `address`, signed in; returns the session cookie.
    pub async fn signed_in_owner(&self, username: &str, address: &str) -> String {
        let user = self
            .accounts
            .create_user(username, username, Some("correct horse"))
            .await
            .expect("create user");
        self.accounts
            .add_address(user.id, address)
            .await
            .expect("address");
        let response = self
            .call(
                "sign_in",
                &[("username", username), ("password", "correct horse")],
            )
            .await;
        session_cookie(&response).expect("signed in")
    }

    /// A mailbox owned by `address` with an Inbox and a nested folder, and one message each.
    /// Archives one unread message in a folder of a mailbox; returns its item id.
    pub async fn put_message(
        &self,
        mailbox_id: i64,
        folder: &str,
        source_id: &str,
        raw: Vec<u8>,
        at: Timestamp,
    ) -> i64 {
        self.archive
            .put_item(PutItem::message(mailbox_id, folder, source_id, raw, at))
            .await
            .expect("put")
            .item_id()
    }

    pub async fn mailbox_with_mail(&self, address: &str, word: &str) -> SeededMailbox {
        let mailbox = self
            .archive
            .ensure_mailbox(&NewMailbox {
                name: address.to_owned(),
                owner_address: address.to_owned(),
                display_name: address.to_owned(),
            })
            .await
            .expect("mailbox");
        let at = Timestamp::now();
        for (source, parent, name, kind) in [
            ("inbox", None, "Inbox", FolderKind::Inbox),
            ("projects", Some("inbox"), "Projects", FolderKind::Other),
        ] {
            self.archive
                .upsert_folder(
                    mailbox.id,
                    &FolderSpec {
                        source_id: source.to_owned(),
                        parent_source_id: parent.map(str::to_owned),
                        name: name.to_owned(),
                        kind,
                    },
                    at,
                )
                .await
                .expect("folder");
        }
        let mut items = Vec::new();
        for folder in ["inbox", "projects"] {
            let raw = sample_message(address, word, folder);
            let item = self
                .put_message(mailbox.id, folder, &format!("{folder}-1"), raw.clone(), at)
                .await;
            items.push((item, raw));
        }
        let tree = self
            .archive
            .folder_tree(mailbox.id, None)
            .await
            .expect("tree");
        let folder_id = |name: &str| {
            tree.iter()
                .find(|f| f.name == name)
                .map(|f| f.id)
                .expect("folder id")
        };
        SeededMailbox {
            id: mailbox.id,
            inbox: folder_id("Inbox"),
            projects: folder_id("Projects"),
            items,
        }
    }
}

pub struct SeededMailbox {
    pub id: i64,
    pub inbox: i64,
    pub projects: i64,
    /// (item id, raw bytes): the Inbox message, then the Projects one.
    pub items: Vec<(i64, Vec<u8>)>,
}

/// Hostile on purpose: a script in the body and an HTML attachment with a script.
fn sample_message(to: &str, word: &str, folder: &str) -> Vec<u8> {
    testkit::mime::Mail::new(&format!("{word} report for {folder}"))
        .from("Dana Lee <dana@example.org>")
        .to(to)
        .date("Mon, 02 Nov 2026 09:00:00 +0000")
        .message_id(&format!("<{word}-{folder}@example.org>"))
        .html(&format!(
            "<p>The {word} figures are attached.</p><script>alert(1)</script>"
        ))
        .attach(
            "figures.html",
            "text/html",
            b"<script>alert('attachment')</script>",
        )
        .build()
}

/// The `sr_session=...` pair of a response's Set-Cookie, if any.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sr_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// The status and the JSON body of a server function's answer.
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: {text}: {e}"));
    (status, value)
}

/// A user holding `role` within `scope` ("" for every mailbox), signed in: their cookie.
pub async fn person(app: &TestApp, name: &str, role: &access::Role, scope: &str) -> String {
    let user = app
        .accounts
        .create_user(name, name, Some("correct horse"))
        .await
        .expect("user");
    app.roles
        .assign(
            user.id,
            role.id,
            &access::Scope::parse(scope).expect("scope"),
        )
        .await
        .expect("assign");
    let response = app
        .call(
            "sign_in",
            &[("username", name), ("password", "correct horse")],
        )
        .await;
    session_cookie(&response).expect("signed in")
}

/// A built-in role by its name (`access::ADMINISTRATOR`, `access::HELP_DESK`, ...).
pub async fn builtin(app: &TestApp, name: &str) -> access::Role {
    app.roles.by_name(name).await.expect("roles").expect("role")
}

/// Waits until the job has ended; returns its view.
pub async fn finished(app: &TestApp, cookie: &str, job: &str) -> serde_json::Value {
    for _ in 0..300 {
        let (status, detail) = json(
            app.call_as(Some(cookie), "jobs/detail", &[("id", job)])
                .await,
        )
        .await;
        assert_eq!(status, 200, "{detail}");
        let state = detail["job"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !matches!(state.as_str(), "queued" | "running") {
            return detail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {job} did not end");
}

/// The Exchange simulator and an EWS connection to it that passed its test, so a sync task may
/// be enabled on it.
pub async fn tested_connection(
    app: &TestApp,
) -> (exchange_sim::RunningSim, syncer::ConnectionView) {
    let sim = exchange_sim::start(exchange_sim::SimConfig::for_tests())
        .await
        .expect("simulator");
    let d = exchange_sim::SimConfig::default();
    let store = app.sync.store();
    let connection = store
        .create_connection(&syncer::NewConnection {
            name: "Head office".into(),
            settings: mailsync::ConnectionSettings::Ews {
                url: sim.ews_url(),
                username: d.service_account.clone(),
            },
            secret: d.service_password.clone(),
        })
        .await
        .expect("connection");
    let tested = store
        .test_connection(connection.id, None)
        .await
        .expect("test");
    assert!(tested.ok, "{tested:?}");
    (sim, connection)
}
