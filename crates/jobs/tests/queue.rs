//! The job queue on both backends: claims, leases that fence a worker that lost its job,
//! outcomes recorded once, cancel, listing.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::Duration;

use jobs::{JobError, JobFilter, JobState, Jobs, NewJob, Outcome, OutcomeKind};
use testkit::{each_backend, TestDb};

fn export_job(mailbox: i64, label: &str) -> NewJob {
    NewJob {
        kind: "export".into(),
        label: label.into(),
        mailbox_id: Some(mailbox),
        params: r#"{"format":"eml"}"#.into(),
        owner: "admin".into(),
    }
}

fn created(key: &str) -> Outcome {
    Outcome {
        key: key.into(),
        kind: OutcomeKind::Created,
        source_path: format!("Inbox/{key}"),
        target_path: format!("data/Inbox/{key}.eml"),
        detail: String::new(),
    }
}

async fn a_job_runs_from_queue_to_report(kit: &TestDb) {
    let jobs = Jobs::new(kit.db.clone());
    let queued = jobs.enqueue(export_job(1, "Export 1")).await.unwrap();
    assert_eq!(queued.state, JobState::Queued);
    assert_eq!(queued.attempts, 0);

    let (job, lease) = jobs
        .claim("node-a", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the queued job is claimed");
    assert_eq!(job.id, queued.id);
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.lease_owner.as_deref(), Some("node-a"));
    assert_eq!(job.attempts, 1);
    assert!(job.started_at.is_some());
    assert!(
        jobs.claim("node-b", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none(),
        "a held job is not claimed twice"
    );

    let beat = jobs.heartbeat(&lease, 3, 1234).await.unwrap();
    assert!(!beat.cancel_requested);
    let failed = Outcome {
        kind: OutcomeKind::Failed,
        detail: "blob missing".into(),
        ..created("c")
    };
    let skipped = Outcome {
        kind: OutcomeKind::Skipped,
        ..created("d")
    };
    assert_eq!(
        jobs.record(&lease, &[created("a"), created("b"), failed])
            .await
            .unwrap(),
        3
    );
    // A repeated key keeps its first outcome and is not counted again.
    assert_eq!(
        jobs.record(&lease, &[created("a"), skipped]).await.unwrap(),
        1
    );
    let now = jobs.get(job.id).await.unwrap().unwrap();
    assert_eq!(
        (now.total, now.bytes, now.processed, now.failed, now.skipped),
        (3, 1234, 4, 1, 1)
    );
    let keys = jobs.done_keys(job.id).await.unwrap();
    assert_eq!(keys, HashSet::from(["a", "b", "c", "d"].map(String::from)));

    let report = jobs.outcomes(job.id, None, 0, 100).await.unwrap();
    let order: Vec<&str> = report.iter().map(|o| o.outcome.key.as_str()).collect();
    assert_eq!(order, ["a", "b", "c", "d"]);
    assert_eq!(report[2].outcome.detail, "blob missing");
    let page = jobs.outcomes(job.id, None, report[1].id, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].outcome.key, "c");
    let failures = jobs
        .outcomes(job.id, Some(OutcomeKind::Failed), 0, 100)
        .await
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].outcome.key, "c");

    let done = jobs
        .finish(&lease, JobState::Done, None, Some(r#"{"parts":1}"#))
        .await
        .unwrap();
    assert_eq!(done.state, JobState::Done);
    assert!(done.finished_at.is_some());
    assert_eq!(done.lease_owner, None);
    assert_eq!(done.result.as_deref(), Some(r#"{"parts":1}"#));
    assert!(
        matches!(
            jobs.heartbeat(&lease, 3, 0).await,
            Err(JobError::LeaseLost(_))
        ),
        "a finished job takes no more heartbeats"
    );
}
each_backend!(a_job_runs_from_queue_to_report);

async fn a_lapsed_lease_passes_the_job_on_and_fences_the_old_worker(kit: &TestDb) {
    let jobs = Jobs::new(kit.db.clone());
    let queued = jobs.enqueue(export_job(1, "Restore")).await.unwrap();
    let (_, old) = jobs
        .claim("node-a", Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap();
    jobs.record(&old, &[created("1"), created("2")])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;

    let (job, new) = jobs
        .claim("node-b", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("a job whose worker stopped renewing is claimed again");
    assert_eq!(job.id, queued.id);
    assert_eq!(job.attempts, 2);
    assert_eq!(job.processed, 2, "the first worker's outcomes are kept");
    assert_eq!(
        jobs.done_keys(job.id).await.unwrap(),
        HashSet::from(["1".to_owned(), "2".to_owned()])
    );

    // The first worker wakes up: every write it tries is refused, and nothing of it lands.
    assert!(matches!(
        jobs.heartbeat(&old, 5, 0).await,
        Err(JobError::LeaseLost(id)) if id == job.id
    ));
    assert!(matches!(
        jobs.record(&old, &[created("3")]).await,
        Err(JobError::LeaseLost(_))
    ));
    assert!(matches!(
        jobs.finish(&old, JobState::Done, None, None).await,
        Err(JobError::LeaseLost(_))
    ));
    assert!(!jobs.done_keys(job.id).await.unwrap().contains("3"));

    jobs.record(&new, &[created("3")]).await.unwrap();
    let done = jobs.finish(&new, JobState::Done, None, None).await.unwrap();
    assert_eq!(done.processed, 3);
}
each_backend!(a_lapsed_lease_passes_the_job_on_and_fences_the_old_worker);

async fn concurrent_claims_take_each_job_once(kit: &TestDb) {
    let jobs = Jobs::new(kit.db.clone());
    let mut ids = HashSet::new();
    for n in 0..12 {
        ids.insert(jobs.enqueue(export_job(n, "x")).await.unwrap().id);
    }
    let claimer = |name: &'static str| {
        let jobs = jobs.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some((job, _)) = jobs.claim(name, Duration::from_secs(60)).await.unwrap() {
                mine.push(job.id);
            }
            mine
        })
    };
    let (a, b, c) = (claimer("a"), claimer("b"), claimer("c"));
    let mut all: Vec<i64> = Vec::new();
    for handle in [a, b, c] {
        all.extend(handle.await.unwrap());
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 12, "no job was claimed twice: {all:?}");
    assert_eq!(unique, ids);
}
each_backend!(concurrent_claims_take_each_job_once);

async fn cancel_stops_a_queued_job_at_once_and_a_running_one_at_its_heartbeat(kit: &TestDb) {
    let jobs = Jobs::new(kit.db.clone());
    let running = jobs.enqueue(export_job(1, "running")).await.unwrap();
    let (_, lease) = jobs
        .claim("node-a", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let queued = jobs.enqueue(export_job(1, "queued")).await.unwrap();

    let cancelled = jobs.request_cancel(queued.id).await.unwrap().unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(jobs
        .claim("node-b", Duration::from_secs(60))
        .await
        .unwrap()
        .is_none());

    let asked = jobs.request_cancel(running.id).await.unwrap().unwrap();
    assert_eq!(asked.state, JobState::Running, "its worker ends it");
    assert!(asked.cancel_requested);
    assert!(jobs.heartbeat(&lease, 0, 0).await.unwrap().cancel_requested);
    let ended = jobs
        .finish(&lease, JobState::Cancelled, None, None)
        .await
        .unwrap();
    assert_eq!(ended.state, JobState::Cancelled);
    assert!(jobs.request_cancel(999_999).await.unwrap().is_none());
}
each_backend!(cancel_stops_a_queued_job_at_once_and_a_running_one_at_its_heartbeat);

async fn a_restarted_job_forgets_its_outcomes(kit: &TestDb) {
    let jobs = Jobs::new(kit.db.clone());
    jobs.enqueue(export_job(1, "x")).await.unwrap();
    let (job, lease) = jobs
        .claim("node-a", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    jobs.record(&lease, &[created("1")]).await.unwrap();
    jobs.restart(&lease).await.unwrap();
    let now = jobs.get(job.id).await.unwrap().unwrap();
    assert_eq!(now.processed, 0);
    assert!(jobs.done_keys(job.id).await.unwrap().is_empty());
}
each_backend!(a_restarted_job_forgets_its_outcomes);

async fn listing_is_newest_first_and_narrows_by_mailbox_and_kind(kit: &TestDb) {
    let jobs = Jobs::new(kit.db.clone());
    let first = jobs.enqueue(export_job(1, "one")).await.unwrap();
    let second = jobs.enqueue(export_job(2, "two")).await.unwrap();
    let third = jobs
        .enqueue(NewJob {
            kind: "restore".into(),
            ..export_job(1, "three")
        })
        .await
        .unwrap();
    let ids = |list: Vec<jobs::Job>| list.into_iter().map(|j| j.id).collect::<Vec<_>>();
    let all = JobFilter {
        limit: 50,
        ..JobFilter::default()
    };
    assert_eq!(
        ids(jobs.list(&all).await.unwrap()),
        [third.id, second.id, first.id]
    );
    let of_one = JobFilter {
        mailboxes: Some(vec![1]),
        ..all.clone()
    };
    assert_eq!(ids(jobs.list(&of_one).await.unwrap()), [third.id, first.id]);
    let exports_of_one = JobFilter {
        kinds: vec!["export".into()],
        ..of_one
    };
    assert_eq!(ids(jobs.list(&exports_of_one).await.unwrap()), [first.id]);
    let none = JobFilter {
        mailboxes: Some(vec![]),
        ..all
    };
    assert!(jobs.list(&none).await.unwrap().is_empty());
}
each_backend!(listing_is_newest_first_and_narrows_by_mailbox_and_kind);

async fn a_named_job_is_claimed_only_while_it_is_free(kit: &TestDb) {
    let jobs = Jobs::new(kit.db.clone());
    let older = jobs.enqueue(export_job(1, "older")).await.unwrap();
    let mine = jobs.enqueue(export_job(1, "mine")).await.unwrap();
    let (job, _) = jobs
        .claim_this(mine.id, "cli", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the named job, not the oldest");
    assert_eq!(job.id, mine.id);
    assert!(jobs
        .claim_this(mine.id, "other", Duration::from_secs(60))
        .await
        .unwrap()
        .is_none());
    let (next, _) = jobs
        .claim("node", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.id, older.id);
}
each_backend!(a_named_job_is_claimed_only_while_it_is_free);
