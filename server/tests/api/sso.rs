//! Single sign-on against a real OpenID Connect provider (npm `oidc-provider`, started here on a
//! loopback port): the authorization-code flow with PKCE driven over HTTP as a browser would,
//! roles mapped from the ID token, addresses only when verified, and the refusals.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::helpers::{session_cookie, spawn_app_with, TestApp};

struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider(redirect_uri: &str) -> Provider {
    let end2end = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end");
    assert!(
        end2end.join("node_modules/oidc-provider").is_dir(),
        "the test provider is missing: run scripts/setup.sh (npm ci in end2end/)"
    );
    let mut child = Command::new("node")
        .arg("oidc/provider.mjs")
        .current_dir(&end2end)
        .env("OIDC_PORT", "0")
        .env("OIDC_REDIRECT_URIS", redirect_uri)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts the provider");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let issuer = loop {
        let line = lines
            .next()
            .expect("the provider says it is ready")
            .expect("a line");
        if let Some(issuer) = line.strip_prefix("OIDC_READY ") {
            break issuer.trim().to_owned();
        }
    };
    Provider { child, issuer }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn app_with_sso(kit: &testkit::TestDb, issuer: &str, port: u16) -> TestApp {
    let issuer = issuer.to_owned();
    spawn_app_with(kit, move |s| {
        s.server.listen = format!("127.0.0.1:{port}").parse().expect("address");
        s.server.public_url = Some(format!("http://127.0.0.1:{port}"));
        s.sso.issuer = issuer;
        s.sso.client_id = "sync-recover".into();
        s.sso.client_secret = Some("test-secret".to_owned().into());
        s.sso.role_map = [(
            "archive-admins".to_owned(),
            access::ADMINISTRATOR.to_owned(),
        )]
        .into_iter()
        .collect();
        s.sso.provider_name = "Test IdP".into();
    })
    .await
}

/// A browser's cookie jar and no automatic redirects: every hop is checked.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

fn location(response: &reqwest::Response, base: &str) -> String {
    let to = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("a redirect, got {}", response.status()))
        .to_owned();
    if to.starts_with('/') {
        format!("{base}{to}")
    } else {
        to
    }
}

/// From our start to the provider's login form, the login, and back to our callback URL.
async fn log_in_at_provider(
    client: &reqwest::Client,
    app: &TestApp,
    issuer: &str,
    login: &str,
    password: &str,
) -> Option<String> {
    let start = client
        .get(format!("{}/auth/sso/start", app.address))
        .send()
        .await
        .expect("start");
    assert_eq!(start.status(), 303);
    let authorize = location(&start, &app.address);
    assert!(authorize.starts_with(issuer), "{authorize}");
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    assert!(authorize.contains("nonce="), "{authorize}");
    let to_form = client.get(&authorize).send().await.expect("authorize");
    let form_url = location(&to_form, issuer);
    let form = client.get(&form_url).send().await.expect("form");
    assert_eq!(form.status(), 200);
    let posted = client
        .post(format!("{form_url}/login"))
        .form(&[("login", login), ("password", password)])
        .send()
        .await
        .expect("login");
    if posted.status() != 303 {
        return None;
    }
    let resume = client
        .get(location(&posted, issuer))
        .send()
        .await
        .expect("resume");
    let back = location(&resume, issuer);
    assert!(
        back.starts_with(&format!("{}/auth/sso/callback", app.address)),
        "{back}"
    );
    Some(back)
}

testkit::each_backend!(sign_on_with_the_provider_maps_roles_and_verified_addresses);
async fn sign_on_with_the_provider_maps_roles_and_verified_addresses(kit: &testkit::TestDb) {
    let port = free_port();
    let provider = start_provider(&format!("http://127.0.0.1:{port}/auth/sso/callback"));
    let app = app_with_sso(kit, &provider.issuer, port).await;

    // The sign-in page offers the provider.
    let options = app.call("sign_in_options", &[]).await;
    let options: serde_json::Value = options.json().await.expect("json");
    assert_eq!(options["label"], "Test IdP");

    // A wrong password at the provider: no way back to us.
    let client = browser();
    assert!(
        log_in_at_provider(&client, &app, &provider.issuer, "ann", "wrong")
            .await
            .is_none()
    );

    // Ann signs in: an account is made, her verified address and her provider role come along.
    let client = browser();
    let back = log_in_at_provider(&client, &app, &provider.issuer, "ann", "password")
        .await
        .expect("the provider sends Ann back");
    let landed = client.get(&back).send().await.expect("callback");
    assert_eq!(landed.status(), 303);
    assert_eq!(
        location(&landed, &app.address),
        format!("{}/mail", app.address)
    );
    let cookie = session_cookie(&landed).expect("a session");
    let me: serde_json::Value = app
        .call_as(Some(&cookie), "current_user", &[])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["username"], "ann");
    assert_eq!(me["display_name"], "Ann Archer");
    assert!(
        me["permissions"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p == "audit_log")),
        "archive-admins maps to Administrator: {me}"
    );
    let ann = app
        .accounts
        .find_user("ann")
        .await
        .expect("lookup")
        .expect("created");
    assert_eq!(
        app.accounts.addresses(ann.id).await.expect("addresses"),
        ["ann@example.com"]
    );

    // The same answer a second time: the state was used up, nobody is signed in.
    let replay = client.get(&back).send().await.expect("replay");
    assert_eq!(
        location(&replay, &app.address),
        format!("{}/sign-in?sso=expired", app.address)
    );
    assert!(session_cookie(&replay).is_none());

    // Bob's address is not verified: he gets an account, but no mailbox through it.
    let client = browser();
    let back = log_in_at_provider(&client, &app, &provider.issuer, "bob", "password")
        .await
        .expect("the provider sends Bob back");
    let landed = client.get(&back).send().await.expect("callback");
    assert!(session_cookie(&landed).is_some());
    let bob = app
        .accounts
        .find_user("bob")
        .await
        .expect("lookup")
        .expect("created");
    assert!(app
        .accounts
        .addresses(bob.id)
        .await
        .expect("addresses")
        .is_empty());
    let held = app.roles.assignments(bob.id).await.expect("roles");
    assert!(held.is_empty(), "no provider role, no role here: {held:?}");

    // A disabled account stays out, whatever the provider says.
    app.accounts
        .set_disabled(ann.id, true)
        .await
        .expect("disable");
    let client = browser();
    let back = log_in_at_provider(&client, &app, &provider.issuer, "ann", "password")
        .await
        .expect("the provider still vouches for Ann");
    let refused = client.get(&back).send().await.expect("callback");
    assert_eq!(
        location(&refused, &app.address),
        format!("{}/sign-in?sso=disabled", app.address)
    );
    assert!(session_cookie(&refused).is_none());

    // The provider's own refusal comes back as an error, with a state we issued.
    let client = browser();
    let start = client
        .get(format!("{}/auth/sso/start", app.address))
        .send()
        .await
        .expect("start");
    let authorize = location(&start, &app.address);
    let state = url_param(&authorize, "state").expect("state");
    let denied = client
        .get(format!(
            "{}/auth/sso/callback?error=access_denied&state={state}",
            app.address
        ))
        .send()
        .await
        .expect("callback");
    assert_eq!(
        location(&denied, &app.address),
        format!("{}/sign-in?sso=refused", app.address)
    );
    // A made-up state is not ours.
    let forged = client
        .get(format!(
            "{}/auth/sso/callback?code=x&state=forged",
            app.address
        ))
        .send()
        .await
        .expect("callback");
    assert_eq!(
        location(&forged, &app.address),
        format!("{}/sign-in?sso=expired", app.address)
    );

    // Sign-ons are in the audit log, refused ones too.
    let entries = app
        .audit
        .list(&access::AuditFilter::default(), 50)
        .await
        .expect("audit");
    assert!(entries
        .iter()
        .any(|e| e.action == "sign_in" && e.detail.contains("single sign-on")));
    assert!(entries
        .iter()
        .any(|e| e.action == "sign_in_failed" && e.detail.contains("disabled")));
}

testkit::each_backend!(a_provider_that_is_down_or_names_another_issuer_signs_nobody_in);
async fn a_provider_that_is_down_or_names_another_issuer_signs_nobody_in(kit: &testkit::TestDb) {
    // Down: nothing listens where the issuer points.
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let app = app_with_sso(kit, &dead, port).await;
    let client = browser();
    let start = client
        .get(format!("{}/auth/sso/start", app.address))
        .send()
        .await
        .expect("start");
    assert_eq!(
        location(&start, &app.address),
        format!("{}/sign-in?sso=unavailable", app.address)
    );
    drop(app);

    // The configured issuer differs from the one the provider names (a trailing slash): the
    // discovery document is refused, so no sign-in starts.
    let port = free_port();
    let provider = start_provider(&format!("http://127.0.0.1:{port}/auth/sso/callback"));
    let app = app_with_sso(kit, &format!("{}/", provider.issuer), port).await;
    let start = client
        .get(format!("{}/auth/sso/start", app.address))
        .send()
        .await
        .expect("start");
    let to = location(&start, &app.address);
    assert!(
        to.ends_with("/sign-in?sso=broken") || to.ends_with("/sign-in?sso=unavailable"),
        "{to}"
    );
}

fn url_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

testkit::each_backend!(auto_redirect_skips_the_sign_in_page_but_not_with_local);
async fn auto_redirect_skips_the_sign_in_page_but_not_with_local(kit: &testkit::TestDb) {
    let port = free_port();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let issuer = dead.clone();
    let app = spawn_app_with(kit, move |s| {
        s.server.listen = format!("127.0.0.1:{port}").parse().expect("address");
        s.server.public_url = Some(format!("http://127.0.0.1:{port}"));
        s.sso.issuer = issuer;
        s.sso.client_id = "sync-recover".into();
        s.sso.client_secret = Some("test-secret".to_owned().into());
        s.sso.auto_redirect = true;
    })
    .await;
    let page = app.get_as(None, "/sign-in").await;
    assert_eq!(page.status(), 303);
    assert_eq!(
        location(&page, &app.address),
        format!("{}/auth/sso/start", app.address)
    );
    // The break-glass way in for the built-in administrator, and a refusal to show.
    for path in ["/sign-in?local=1", "/sign-in?sso=unavailable"] {
        let page = app.get_as(None, path).await;
        assert_eq!(page.status(), 200, "{path}");
        assert!(
            page.text().await.expect("body").contains("id=\"password\""),
            "{path}"
        );
    }
}
