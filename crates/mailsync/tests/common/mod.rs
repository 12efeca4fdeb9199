//! Shared set-up for the tests that sync against the simulator.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use exchange_sim::{RunningSim, SimConfig};
use mailsync::{
    EwsConfig, EwsSource, GraphConfig, GraphSource, MailboxSource, RetryPolicy, SyncOptions,
};

pub const ALICE: &str = "alice.martin@example.com";
pub const BRUNO: &str = "bruno.keller@example.com";
pub const CHLOE: &str = "chloe.dubois@example.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Ews,
    Graph,
}

pub async fn sim() -> RunningSim {
    exchange_sim::start(SimConfig::for_tests()).await.unwrap()
}

pub fn ews_config(sim: &RunningSim) -> EwsConfig {
    let d = SimConfig::default();
    EwsConfig::new(&sim.ews_url(), &d.service_account, &d.service_password)
}

pub fn graph_config(sim: &RunningSim) -> GraphConfig {
    let d = SimConfig::default();
    let mut c = GraphConfig::new(&d.tenant, &d.client_id, &d.client_secret);
    c.graph_base = sim.graph_url();
    c.token_url = sim.token_url(&d.tenant);
    c
}

pub fn source(proto: Proto, sim: &RunningSim) -> Arc<dyn MailboxSource> {
    match proto {
        Proto::Ews => Arc::new(EwsSource::new(ews_config(sim)).unwrap()),
        Proto::Graph => Arc::new(GraphSource::new(graph_config(sim)).unwrap()),
    }
}

/// Small page sizes so the seed mailboxes already take several pages.
pub fn paged_source(proto: Proto, sim: &RunningSim, page: u32) -> Arc<dyn MailboxSource> {
    match proto {
        Proto::Ews => {
            let mut c = ews_config(sim);
            c.max_changes = page;
            Arc::new(EwsSource::new(c).unwrap())
        }
        Proto::Graph => {
            let mut c = graph_config(sim);
            c.page_size = page;
            Arc::new(GraphSource::new(c).unwrap())
        }
    }
}

/// Retries fast enough for tests.
pub fn options() -> SyncOptions {
    SyncOptions {
        retry: RetryPolicy {
            max_attempts: 12,
            base_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(50),
            max_server_wait: Duration::from_secs(2),
        },
        ..SyncOptions::default()
    }
}

/// Messages in a seed mailbox directory and how many are read (`.read.eml`).
pub fn seed_message_counts(address: &str) -> (usize, usize) {
    fn walk(dir: &std::path::Path, total: &mut usize, read: &mut usize) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, total, read);
            } else if let Some(n) = p.file_name().and_then(|n| n.to_str()) {
                if n.ends_with(".eml") {
                    *total += 1;
                    if n.ends_with(".read.eml") {
                        *read += 1;
                    }
                }
            }
        }
    }
    let (mut t, mut r) = (0, 0);
    walk(
        &exchange_sim::default_seed_dir().join(address),
        &mut t,
        &mut r,
    );
    (t, r)
}

/// A plain test message to Alice whose body is its subject.
pub fn mime(subject: &str) -> Vec<u8> {
    testkit::mime::Mail::new(subject).build()
}
