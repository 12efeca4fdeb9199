//! A load of people using the mail screen, driven through the portal's HTTP interface as the
//! browser does: each person signs in, then in turn opens the folder tree, lists a folder, opens
//! a message and searches, at a steady rate, until the time or the request budget is spent.
//! Bounded in time and count, and loopback only: it refuses any other address.
//!
//! Used by the load benchmark (`server/examples/load.rs`, 50 people for 60 seconds) and by the
//! tests (a few people for a few seconds, asserting no request failed).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// The portal, e.g. `http://127.0.0.1:3000`. Only loopback addresses are accepted.
    pub base: String,
    /// Username and password of each person.
    pub people: Vec<(String, String)>,
    pub duration: Duration,
    /// Requests each person sends per second (steady, not as fast as possible).
    pub rate_per_person: f64,
    /// A cap on all requests together, whatever the duration.
    pub max_requests: usize,
    /// Search questions, taken in turn.
    pub queries: Vec<String>,
}

/// Latencies by request kind, and every failed request (kind, status or error, body start).
#[derive(Debug, Default)]
pub struct LoadReport {
    pub latencies: BTreeMap<&'static str, Vec<Duration>>,
    pub errors: Vec<String>,
}

impl LoadReport {
    pub fn requests(&self) -> usize {
        self.latencies.values().map(Vec::len).sum::<usize>() + self.errors.len()
    }

    /// The p-th fraction (0.0 to 1.0) of a kind's latencies, in milliseconds.
    pub fn percentile_ms(&self, kind: &str, p: f64) -> f64 {
        let Some(times) = self.latencies.get(kind) else {
            return 0.0;
        };
        let mut sorted = times.clone();
        sorted.sort();
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
    }

    /// A Markdown table: requests, p50, p95 and p99 per kind.
    pub fn table(&self) -> String {
        let mut out =
            String::from("| request | count | p50 | p95 | p99 |\n|---|---|---|---|---|\n");
        for (kind, times) in &self.latencies {
            out.push_str(&format!(
                "| {kind} | {} | {:.1} ms | {:.1} ms | {:.1} ms |\n",
                times.len(),
                self.percentile_ms(kind, 0.5),
                self.percentile_ms(kind, 0.95),
                self.percentile_ms(kind, 0.99)
            ));
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the load runs against loopback only, not {0}")]
    NotLoopback(String),
    #[error("{0}")]
    Client(#[from] reqwest::Error),
}

/// Runs the plan to its end and reports. A person whose sign-in fails is an error in the report
/// and sends nothing more.
pub async fn run(plan: &LoadPlan) -> Result<LoadReport, LoadError> {
    let url =
        reqwest::Url::parse(&plan.base).map_err(|_| LoadError::NotLoopback(plan.base.clone()))?;
    let loopback = match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    };
    if !loopback {
        return Err(LoadError::NotLoopback(plan.base.clone()));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let budget = Arc::new(AtomicUsize::new(plan.max_requests));
    let deadline = Instant::now() + plan.duration;
    let mut people = tokio::task::JoinSet::new();
    for (n, (username, password)) in plan.people.iter().enumerate() {
        let person = Person {
            client: client.clone(),
            base: plan.base.trim_end_matches('/').to_owned(),
            cookie: String::new(),
            random: 0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1),
            report: LoadReport::default(),
        };
        let (username, password) = (username.clone(), password.clone());
        let queries = plan.queries.clone();
        let budget = budget.clone();
        let interval = Duration::from_secs_f64(1.0 / plan.rate_per_person.max(0.01));
        people.spawn(async move {
            person
                .work(&username, &password, &queries, interval, deadline, &budget)
                .await
        });
    }
    let mut report = LoadReport::default();
    while let Some(done) = people.join_next().await {
        match done {
            Ok(part) => {
                for (kind, times) in part.latencies {
                    report.latencies.entry(kind).or_default().extend(times);
                }
                report.errors.extend(part.errors);
            }
            Err(e) => report.errors.push(format!("a person's task ended: {e}")),
        }
    }
    Ok(report)
}

struct Person {
    client: reqwest::Client,
    base: String,
    cookie: String,
    random: u64,
    report: LoadReport,
}

impl Person {
    async fn work(
        mut self,
        username: &str,
        password: &str,
        queries: &[String],
        interval: Duration,
        deadline: Instant,
        budget: &AtomicUsize,
    ) -> LoadReport {
        if !self.sign_in(username, password).await {
            return self.report;
        }
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A person's round: the tree, a folder, a message of it, a search.
        let mut step = 0usize;
        let mut folders: Vec<i64> = Vec::new();
        let mut messages: Vec<i64> = Vec::new();
        loop {
            ticks.tick().await;
            if Instant::now() >= deadline || !take(budget) {
                break;
            }
            match step % 4 {
                0 => {
                    if let Some(overview) = self.call("folders", "mail/overview", &[]).await {
                        folders = overview["folders"]
                            .as_array()
                            .map(|all| {
                                all.iter()
                                    .filter(|f| f["total"].as_i64().unwrap_or(0) > 0)
                                    .filter_map(|f| f["id"].as_i64())
                                    .collect()
                            })
                            .unwrap_or_default();
                    }
                }
                1 => {
                    let folder = self.pick(&folders).map(|f| f.to_string());
                    let mut form = vec![("sort", "date".to_owned())];
                    if let Some(folder) = folder {
                        form.push(("folder", folder));
                    }
                    let form: Vec<(&str, &str)> =
                        form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    if let Some(list) = self.call("list", "mail/messages", &form).await {
                        messages = list["rows"]
                            .as_array()
                            .map(|rows| rows.iter().filter_map(|r| r["id"].as_i64()).collect())
                            .unwrap_or_default();
                    }
                }
                2 => {
                    if let Some(item) = self.pick(&messages) {
                        let item = item.to_string();
                        self.call("open", "mail/message", &[("item", &item)]).await;
                    }
                }
                _ => {
                    if !queries.is_empty() {
                        let query = queries[(step / 4) % queries.len()].clone();
                        self.call(
                            "search",
                            "mail/search",
                            &[("query", &query), ("page", "0"), ("sort", "")],
                        )
                        .await;
                    }
                }
            }
            step += 1;
        }
        self.report
    }

    fn pick(&mut self, from: &[i64]) -> Option<i64> {
        // xorshift: the same walk for the same person every run.
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        (!from.is_empty()).then(|| from[(self.random % from.len() as u64) as usize])
    }

    async fn sign_in(&mut self, username: &str, password: &str) -> bool {
        let started = Instant::now();
        let sent = self
            .client
            .post(format!("{}/api/sign_in", self.base))
            .header("Origin", &self.base)
            .form(&[("username", username), ("password", password)])
            .send()
            .await;
        let cookie = sent.as_ref().ok().and_then(|r| session_cookie(r.headers()));
        match cookie {
            Some(cookie) => {
                self.record("sign in", started);
                self.cookie = cookie;
                true
            }
            None => {
                // A refusal is an answer with a reason in its body (200), not an HTTP error.
                let why = match sent {
                    Ok(r) => {
                        let status = r.status();
                        let body = r.text().await.unwrap_or_default();
                        format!(
                            "status {status}: {}",
                            body.chars().take(200).collect::<String>()
                        )
                    }
                    Err(e) => e.to_string(),
                };
                self.report
                    .errors
                    .push(format!("sign in as {username}: {why}"));
                false
            }
        }
    }

    /// A server function call; its JSON answer, or None after recording the failure.
    async fn call(
        &mut self,
        kind: &'static str,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> Option<serde_json::Value> {
        let started = Instant::now();
        let sent = self
            .client
            .post(format!("{}/api/{endpoint}", self.base))
            .header("Origin", &self.base)
            .header("Cookie", &self.cookie)
            .form(form)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                self.report.errors.push(format!("{kind}: {e}"));
                return None;
            }
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                self.report.errors.push(format!("{kind}: {e}"));
                return None;
            }
        };
        if !status.is_success() {
            let start: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            self.report
                .errors
                .push(format!("{kind}: status {status}: {start}"));
            return None;
        }
        self.record(kind, started);
        match serde_json::from_slice(&body) {
            Ok(value) => Some(value),
            Err(e) => {
                self.report.errors.push(format!("{kind}: not JSON: {e}"));
                None
            }
        }
    }

    fn record(&mut self, kind: &'static str, started: Instant) {
        self.report
            .latencies
            .entry(kind)
            .or_default()
            .push(started.elapsed());
    }
}

/// The `sr_session=...` pair a sign-in answer sets, if any.
pub fn session_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sr_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// Takes one request from the shared budget; false when it is spent.
fn take(budget: &AtomicUsize) -> bool {
    budget
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok()
}
