//! Side by side with notmuch (Debian's `notmuch`, Xapian underneath), on one core, in one run:
//! ingest of the same Maildir (`notmuch new` against our import with the indexer running beside
//! it, as in the portal, until the index has caught up: messages/s, peak RSS, disk used) and the same questions asked of both (`notmuch count` and `notmuch search`
//! against our search; p50/p95/p99, and the hit counts compared so both answer the same question).
//!
//!     cargo run --release -p server --example notmuch_bench -- [MESSAGES] [WORK_DIR]
//!
//! MESSAGES defaults to 100,000 (the project's generator, median about 50 KB). WORK_DIR (default
//! a folder in the temporary directory) keeps the generated Maildir between runs; both indexes
//! are rebuilt every run. The whole run is pinned to CPU 0 (`taskset`), so every process it starts
//! (notmuch, our ingest and search in child processes of this same program) has one core. Not a
//! test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use archive::NewMailbox;
use server::config::Settings;
use transfer::import::{import, ImportFormat, ImportOptions};
use transfer::mailgen::MailGen;

const ROUNDS: usize = 20;

/// Each question in our language and in notmuch's. Dates are UTC on both sides (notmuch reads
/// them in the local zone, so its processes run with TZ=UTC).
const QUERIES: &[(&str, &str)] = &[
    ("subject:migration", "subject:migration"),
    ("from:ann", "from:ann"),
    ("to:yuki", "to:yuki"),
    ("\"deadline review\"", "\"deadline review\""),
    (
        "subject:\"quarterly report\"",
        "subject:\"quarterly report\"",
    ),
    ("会議", "会議"),
    ("crème", "crème"),
    (
        "has:attachment subject:invoice",
        "tag:attachment and subject:invoice",
    ),
    ("attachment:pdf", "attachment:pdf"),
    (
        "subject:security OR subject:audit",
        "subject:security or subject:audit",
    ),
    (
        "subject:contract NOT subject:travel",
        "subject:contract and not subject:travel",
    ),
    (
        "after:2022-01-01 before:2022-07-01",
        "date:2022-01-01..2022-06-30",
    ),
    ("warehouse", "warehouse"),
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        // The child modes: this same program, started by the parent below.
        Some("ours-ingest") => runtime()?.block_on(ours_ingest(Path::new(&args[2]), &args[3])),
        Some("ours-search") => runtime()?.block_on(ours_search(Path::new(&args[2]))),
        _ => parent(&args),
    }
}

/// One thread: the process is pinned to one core anyway, and a second runtime thread would
/// only contend with it.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn parent(args: &[String]) -> anyhow::Result<()> {
    let messages: usize = args
        .get(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let work = args
        .get(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("sr-notmuch-bench"));
    if !pinned(args)? {
        return Ok(());
    }
    let notmuch_version = output(Command::new("notmuch").arg("--version")).map_err(|_| {
        anyhow::anyhow!("notmuch is not installed (Debian: apt-get install notmuch)")
    })?;

    let maildir = work.join(format!("maildir-{messages}"));
    let (mail_bytes, median) = generate_maildir(&maildir, messages)?;
    println!(
        "{messages} messages, median {} KB, {:.0} MB of Maildir; {}; one core (CPU 0)",
        median / 1024,
        mail_bytes as f64 / 1e6,
        notmuch_version.trim()
    );

    // notmuch new: its database inside the Maildir, as notmuch keeps it.
    let config = work.join("notmuch-config");
    std::fs::write(
        &config,
        format!(
            "[database]\npath={}\n[user]\nname=Bench\nprimary_email=bench@example.com\n\
             [new]\ntags=\nignore=\n[search]\nexclude_tags=\n[maildir]\nsynchronize_flags=false\n",
            maildir.display()
        ),
    )?;
    let notmuch_db = maildir.join(".notmuch");
    let ours_dir = work.join("ours");
    // The previous run's outputs are moved aside now and deleted only after this run has
    // measured: on ext4 without a journal, creating files for minutes after a mass delete walks
    // past every recently freed inode (`recently_deleted`), and the side that ran next would be
    // charged for it (at 20,000 messages it made our import 28 s -> 42 s).
    let stale = work.join("stale");
    for (n, old) in [&notmuch_db, &ours_dir].into_iter().enumerate() {
        if old.exists() {
            std::fs::create_dir_all(&stale)?;
            std::fs::rename(old, stale.join(format!("{}-{n}", std::process::id())))?;
        }
    }
    let notmuch = |args: &[&str]| {
        let mut c = Command::new("notmuch");
        c.env("NOTMUCH_CONFIG", &config).env("TZ", "UTC").args(args);
        c
    };
    let (notmuch_secs, notmuch_rss) = timed_child(notmuch(&["new", "--quiet"]), None)?;
    let notmuch_disk = dir_size(&notmuch_db);

    // Ours: import into the encrypted store, then index, in a child process (its own peak RSS).
    let me = std::env::current_exe()?;
    let mut ours = Command::new(&me);
    ours.arg("ours-ingest").arg(&ours_dir).arg(&maildir);
    let (ours_secs, ours_rss) = timed_child(ours, Some(&ours_dir.join("peak-kb.txt")))?;
    let ours_disk = dir_size(&ours_dir);
    let phases = std::fs::read_to_string(ours_dir.join("phases.txt")).unwrap_or_default();

    println!("\n## Ingest ({messages} messages, one core)\n");
    println!("| | messages/s | wall | peak RSS | disk |");
    println!("|---|---|---|---|---|");
    println!(
        "| notmuch new | {:.0} | {notmuch_secs:.1} s | {:.0} MB | {:.0} MB (index; the mail stays in the Maildir) |",
        messages as f64 / notmuch_secs,
        notmuch_rss,
        notmuch_disk as f64 / 1e6
    );
    println!(
        "| ours (import + index) | {:.0} | {ours_secs:.1} s | {:.0} MB | {:.0} MB (a compressed, encrypted copy of the mail, its metadata and the index) |",
        messages as f64 / ours_secs,
        ours_rss,
        ours_disk as f64 / 1e6
    );
    println!(
        "\nours/notmuch ingest rate: {:.2}x ({})",
        notmuch_secs / ours_secs,
        phases.trim()
    );

    // Search: notmuch answers through its command line (a process per question, as its users
    // ask); ours in a process that keeps the index open, as the portal does. The floor is
    // notmuch's start and database open, measured with a question that matches nothing.
    let mut floor = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        output(&mut notmuch(&["count", "id:nothing@nowhere"]))?;
        floor.push(t.elapsed());
    }
    let mut notmuch_hits = Vec::new();
    let mut notmuch_times: Vec<Vec<Duration>> = vec![Vec::new(); QUERIES.len()];
    for (n, (_, q)) in QUERIES.iter().enumerate() {
        let count = output(&mut notmuch(&["count", q]))?;
        notmuch_hits.push(count.trim().parse::<u64>().unwrap_or(u64::MAX));
        for _ in 0..ROUNDS {
            let t = Instant::now();
            output(&mut notmuch(&[
                "search",
                "--output=summary",
                "--sort=newest-first",
                "--limit=20",
                q,
            ]))?;
            notmuch_times[n].push(t.elapsed());
        }
    }
    let mut ours = Command::new(&me);
    ours.arg("ours-search").arg(&ours_dir);
    let ours_out = output(&mut ours)?;
    let mut ours_hits = Vec::new();
    let mut ours_times: Vec<Vec<Duration>> = vec![Vec::new(); QUERIES.len()];
    for line in ours_out.lines() {
        // "<query number> <hits> <microseconds> <microseconds> ..."
        let mut fields = line.split_whitespace();
        let (Some(n), Some(hits)) = (fields.next(), fields.next()) else {
            continue;
        };
        let n: usize = n.parse()?;
        ours_hits.push(hits.parse::<u64>()?);
        ours_times[n] = fields
            .map(|us| us.parse().map(Duration::from_micros))
            .collect::<Result<_, _>>()?;
    }

    println!(
        "\n## Search ({messages} messages, 20 hits newest first, {ROUNDS} rounds, one thread)\n"
    );
    println!("| question (ours / notmuch) | hits ours | hits notmuch | ours p50 / p95 | notmuch p50 / p95 |");
    println!("|---|---|---|---|---|");
    let mut all_ours = Vec::new();
    let mut all_notmuch = Vec::new();
    let mut differ = 0;
    for (n, (ours_q, notmuch_q)) in QUERIES.iter().enumerate() {
        let same = ours_hits.get(n) == notmuch_hits.get(n);
        if !same {
            differ += 1;
        }
        let mut o = ours_times[n].clone();
        let mut m = notmuch_times[n].clone();
        o.sort();
        m.sort();
        println!(
            "| `{ours_q}` / `{notmuch_q}` | {} | {}{} | {:.1} / {:.1} ms | {:.1} / {:.1} ms |",
            ours_hits.get(n).copied().unwrap_or_default(),
            notmuch_hits[n],
            if same { "" } else { " (differs)" },
            ms(&o, 0.5),
            ms(&o, 0.95),
            ms(&m, 0.5),
            ms(&m, 0.95)
        );
        all_ours.extend(o);
        all_notmuch.extend(m);
    }
    all_ours.sort();
    all_notmuch.sort();
    floor.sort();
    println!(
        "\n| all questions | p50 | p95 | p99 |\n|---|---|---|---|\n| ours | {:.1} ms | {:.1} ms | {:.1} ms |\n| notmuch search | {:.1} ms | {:.1} ms | {:.1} ms |\n| notmuch start + open (floor) | {:.1} ms | {:.1} ms | {:.1} ms |",
        ms(&all_ours, 0.5),
        ms(&all_ours, 0.95),
        ms(&all_ours, 0.99),
        ms(&all_notmuch, 0.5),
        ms(&all_notmuch, 0.95),
        ms(&all_notmuch, 0.99),
        ms(&floor, 0.5),
        ms(&floor, 0.95),
        ms(&floor, 0.99),
    );
    println!(
        "\nours/notmuch search p95: {:.2} (goal <= 0.5 and under 10 ms); hit counts: {} of {} questions the same",
        ms(&all_ours, 0.95) / ms(&all_notmuch, 0.95),
        QUERIES.len() - differ,
        QUERIES.len()
    );
    let _ = std::fs::remove_dir_all(&stale);
    Ok(())
}

/// Writes the Maildir once per size (a marker file says it is complete): the generator's folder
/// paths as Maildir++ folders, `Inbox` itself at the top. Returns its bytes and median size.
fn generate_maildir(root: &Path, messages: usize) -> anyhow::Result<(u64, usize)> {
    // Beside the Maildir, not in it: notmuch would report it as a file that is not mail.
    let done = root.with_extension("complete");
    let mut generator = MailGen::new(42);
    let mut sizes = Vec::with_capacity(messages);
    let write = !done.exists();
    if write {
        let _ = std::fs::remove_dir_all(root);
    }
    for i in 0..messages {
        let (path, raw) = generator.message(i);
        sizes.push(raw.len());
        if !write {
            continue;
        }
        let folder = if path == ["Inbox"] {
            root.to_path_buf()
        } else {
            root.join(format!(".{}", path.join(".")))
        };
        let cur = folder.join("cur");
        if !cur.is_dir() {
            for sub in ["cur", "new", "tmp"] {
                std::fs::create_dir_all(folder.join(sub))?;
            }
        }
        // Every third message read, as the portal bench has it.
        let flags = if i % 3 == 0 { "S" } else { "" };
        std::fs::write(cur.join(format!("{i}.bench.local:2,{flags}")), &raw)?;
    }
    if write {
        std::fs::write(&done, b"")?;
    }
    let total = sizes.iter().map(|&s| s as u64).sum();
    sizes.sort_unstable();
    Ok((total, sizes.get(messages / 2).copied().unwrap_or(0)))
}

async fn ours_ingest(dir: &Path, maildir: &str) -> anyhow::Result<()> {
    let settings = Settings::for_tests(dir)?;
    let archive = server::open_archive(&settings).await?;
    let index = server::open_search(&settings)?;
    // As in the portal: the indexer runs beside the writer, every `index_interval_secs`, and
    // takes the body texts the writer hands over (what `search::Indexer` asks for on a node
    // that is alone).
    archive.keep_fresh_bodies(64 * 1024 * 1024);
    let interval = settings.worker.index_interval();
    let importing = std::cell::Cell::new(true);
    let started = Instant::now();
    let import_run = async {
        let summary = import(
            &archive,
            ImportFormat::Maildir,
            Path::new(maildir),
            &ImportOptions::new(NewMailbox {
                name: "bench".into(),
                owner_address: "bench@example.com".into(),
                display_name: "Bench".into(),
            }),
            &mut |_| {},
        )
        .await;
        importing.set(false);
        (summary, started.elapsed().as_secs_f64())
    };
    let index_run = async {
        let mut indexed = 0;
        loop {
            let last = !importing.get();
            indexed += index.catch_up(&archive).await?;
            if last {
                return anyhow::Ok(indexed);
            }
            tokio::time::sleep(interval).await;
        }
    };
    let ((summary, import_secs), indexed) = tokio::join!(import_run, index_run);
    let (summary, indexed) = (summary?, indexed?);
    let total_secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        summary.failed.is_empty(),
        "import failed for {} messages",
        summary.failed.len()
    );
    if let Some(kb) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| vm_hwm_kb(&s))
    {
        std::fs::write(dir.join("peak-kb.txt"), kb.to_string())?;
    }
    std::fs::write(
        dir.join("phases.txt"),
        format!(
            "{} messages imported in {import_s:.1} s with the indexer alongside, {indexed} indexed, \
             the index caught up {:.1} s after the import",
            summary.imported,
            total_secs - import_secs,
            import_s = import_secs,
        ),
    )?;
    Ok(())
}

async fn ours_search(dir: &Path) -> anyhow::Result<()> {
    let settings = Settings::for_tests(dir)?;
    let archive = server::open_archive(&settings).await?;
    let index = server::open_search_reader(&settings)?;
    let mailboxes: Vec<_> = archive
        .list_mailboxes()
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    for (n, (q, _)) in QUERIES.iter().enumerate() {
        let request = search::SearchRequest {
            mailbox_ids: mailboxes.clone(),
            query: (*q).to_owned(),
            limit: 20,
            sort: search::SearchSort::NewestFirst,
            ..Default::default()
        };
        let mut line = String::new();
        let mut hits = 0;
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let found = index.find(&archive, &request).await?;
            line.push_str(&format!(" {}", t.elapsed().as_micros()));
            hits = found.total;
        }
        println!("{n} {hits}{line}");
    }
    Ok(())
}

fn ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn output(command: &mut Command) -> anyhow::Result<String> {
    let out = command.output()?;
    anyhow::ensure!(
        out.status.success(),
        "{:?} failed: {}",
        command,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command to its end: its wall time and its peak RSS in MB. The peak is the process's
/// own high-water mark (VmHWM), read every 20 ms while it runs, so growth in its last 20 ms can
/// be missed; a child of ours writes its exact figure to `peak_file` before it exits.
fn timed_child(mut command: Command, peak_file: Option<&Path>) -> anyhow::Result<(f64, f64)> {
    let started = Instant::now();
    let mut child = command.spawn()?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0.0f64;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if let Some(kb) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| vm_hwm_kb(&s))
        {
            peak_kb = peak_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(status.success(), "{command:?} failed ({status})");
    if let Some(kb) = peak_file
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
    {
        peak_kb = kb;
    }
    Ok((secs, peak_kb / 1024.0))
}

fn vm_hwm_kb(status: &str) -> Option<f64> {
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
}

/// Runs this program again under `taskset -c 0` (util-linux), once: it and every process it
/// starts then share CPU 0. Returns whether the caller should go on (it is the pinned one).
fn pinned(args: &[String]) -> anyhow::Result<bool> {
    if std::env::var_os("SR_BENCH_PINNED").is_some() {
        return Ok(true);
    }
    let status = Command::new("taskset")
        .arg("-c")
        .arg("0")
        .arg(std::env::current_exe()?)
        .args(&args[1..])
        .env("SR_BENCH_PINNED", "1")
        .status()
        .map_err(|e| anyhow::anyhow!("taskset (util-linux) is needed to pin to one core: {e}"))?;
    anyhow::ensure!(status.success(), "the pinned run failed ({status})");
    Ok(false)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
