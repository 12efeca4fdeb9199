use std::net::SocketAddr;

use accounts::Accounts;
use server::config::Settings;
use server::{open_database, Application};
use tokio::sync::oneshot;

pub struct TestApp {
    pub address: String,
    pub accounts: Accounts,
    pub client: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
    _data: tempfile::TempDir,
}

/// Starts the portal on a free port with an empty data folder; stops it when dropped.
pub async fn spawn_app() -> TestApp {
    let data = tempfile::tempdir().expect("tempdir");
    let settings = Settings::for_tests(data.path()).expect("test settings");
    let accounts = Accounts::new(open_database(&settings).await.expect("database"));
    let app = Application::build(&settings).await.expect("build app");
    let addr: SocketAddr = app.local_addr().expect("address");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        address: format!("http://{addr}"),
        accounts,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        _shutdown: tx,
        _data: data,
    }
}

impl TestApp {
    pub async fn add_user(&self, username: &str, password: &str) {
        self.accounts
            .create_user(username, username, Some(password), false)
            .await
            .expect("create user");
    }

    /// Calls a server function the way the hydrated page does (form-encoded POST, same origin).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}/api/{endpoint}", self.address))
            .header("Origin", &self.address)
            .form(form)
            .send()
            .await
            .expect("request")
    }
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
