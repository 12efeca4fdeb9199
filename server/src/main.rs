//! `sync-recover`: the command line. Errors reach the person as one line and a non-zero exit.

use std::path::PathBuf;
use std::process::ExitCode;

use accounts::Accounts;
use clap::{Parser, Subcommand};
use server::config::Settings;
use server::{cli, open_database, shutdown_signal, telemetry, Application};

#[derive(Parser)]
#[command(
    name = "sync-recover",
    version,
    about = "Self-hosted mailbox archive portal"
)]
struct Cli {
    /// Configuration file (TOML). Environment variables SR_SECTION__KEY override it.
    #[arg(long, short, global = true, env = "SR_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal.
    Serve {
        /// In an empty database, create demo accounts and print how to sign in.
        #[arg(long)]
        demo: bool,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Print the built-in default configuration.
    Config,
    /// Manage local accounts.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Import legacy mail (mbox, a folder of .eml files, Maildir) into a mailbox.
    Import {
        /// The file or folder to import.
        path: PathBuf,
        /// The mailbox to import into (created when missing), e.g. the user's address.
        #[arg(long)]
        mailbox: String,
        /// Whose mail this is (the portal shows it to the user owning this address).
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Format; guessed from the path when absent.
        #[arg(long, value_enum)]
        format: Option<cli::archive::Format>,
        /// The folder for an mbox file's messages and for an EML folder's top level.
        #[arg(long, default_value = "Inbox")]
        folder: String,
    },
    /// Export a mailbox, a folder (with its subfolders) or a snapshot as a BagIt zip: EML or mbox
    /// for mail, ICS for calendars, VCF for contacts. Runs as a job (it shows on the portal's
    /// Jobs screen) with a progress bar here.
    Export {
        /// The archived mailbox, e.g. alice@example.com.
        #[arg(long)]
        mailbox: String,
        /// Only this folder and those below it, e.g. "Inbox/Projects".
        #[arg(long)]
        folder: Option<String>,
        /// A snapshot's id (its mailbox as of its instant).
        #[arg(long, conflicts_with = "at")]
        snapshot: Option<i64>,
        /// The mailbox as it was at this instant (UTC), e.g. 2026-03-01T14:00.
        #[arg(long)]
        at: Option<String>,
        #[arg(long, value_enum, default_value = "eml")]
        format: cli::export::Format,
        /// Only these kinds (repeatable); all when absent.
        #[arg(long, value_enum)]
        only: Vec<cli::jobs::Kind>,
        /// The zip to write (must not exist yet).
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a mailbox, a folder (with its subfolders) or a snapshot into a mailbox through
    /// its sync connection: a dry run first (its report is printed), then the restore. Nothing
    /// already in a folder is created again. Both runs are jobs on the portal's Jobs screen.
    Restore {
        /// The archived mailbox, e.g. alice@example.com.
        #[arg(long, required_unless_present = "resume")]
        mailbox: Option<String>,
        /// Only this folder and those below it, e.g. "Inbox/Projects".
        #[arg(long)]
        folder: Option<String>,
        /// A snapshot's id (its mailbox as of its instant).
        #[arg(long, conflicts_with = "at")]
        snapshot: Option<i64>,
        /// The mailbox as it was at this instant (UTC), e.g. 2026-03-01T14:00.
        #[arg(long)]
        at: Option<String>,
        /// Only these kinds (repeatable); all when absent.
        #[arg(long, value_enum)]
        only: Vec<cli::jobs::Kind>,
        /// The mailbox to restore into; the archived mailbox's owner when absent.
        #[arg(long)]
        into: Option<String>,
        /// The server connection to write through; the one of the sync task that reaches the
        /// target mailbox when absent.
        #[arg(long)]
        connection: Option<i64>,
        /// Into a new folder of this name (the folder tree below it) instead of the original
        /// folders.
        #[arg(long)]
        new_folder: Option<String>,
        /// Stop after the dry run.
        #[arg(long)]
        dry_run: bool,
        /// Take over the restore job of this id, left running by a worker that died.
        #[arg(long, conflicts_with_all = ["mailbox", "folder", "snapshot", "at", "into", "connection", "new_folder", "dry_run"])]
        resume: Option<i64>,
    },
    /// Search the archive (all mailboxes, or those named), as the index was last committed; works
    /// while the portal runs.
    Search {
        query: String,
        #[arg(long = "mailbox")]
        mailboxes: Vec<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Rebuild the search index from the archive (stop the portal first).
    Reindex,
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Run the built-in Exchange simulator (EWS, Graph and the token endpoint) on its own.
    Simulator {
        #[arg(long, default_value = "127.0.0.1:5080")]
        listen: std::net::SocketAddr,
        /// A folder of mailboxes (one folder per address); the built-in seed when absent.
        #[arg(long)]
        seed: Option<PathBuf>,
    },
    /// Counts of mailboxes, items and storage.
    Stats,
    /// How long the archive keeps mail, calendar items and contacts; dry runs and purges.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Sync tasks: list them with what a paused one needs before it may run; enable, pause.
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// Server connections: list them with their last test; test one.
    #[command(subcommand)]
    Connections(ConnectionsCommand),
    /// The archive's content store.
    #[command(subcommand)]
    Blobs(BlobsCommand),
}

#[derive(Subcommand)]
enum BlobsCommand {
    /// Copy every archived blob from the data folder to the S3 bucket of [storage.s3] and check
    /// each one there; safe to stop and run again.
    Migrate,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// The default policy, each mailbox's own rules, and the floor sync tasks set.
    Show,
    /// Change the default (or, with --mailbox, one mailbox's rules). Each kind takes a number
    /// of days, `forever`, or (for a mailbox) `default`. Mail cannot go below 58 days while a
    /// sync task needs it.
    Set {
        #[arg(long)]
        mailbox: Option<String>,
        #[arg(long)]
        mail: Option<cli::retention::RuleArg>,
        #[arg(long)]
        calendar: Option<cli::retention::RuleArg>,
        #[arg(long)]
        contacts: Option<cli::retention::RuleArg>,
        /// What the days count from: `left-source` (when the item left the mailbox) or
        /// `archived`.
        #[arg(long, default_value = "left-source")]
        basis: String,
    },
    /// Remove what is past its keep time (every mailbox, or one). Held snapshots keep theirs.
    Purge {
        #[arg(long)]
        mailbox: Option<String>,
        /// Only count and list what would go.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum TasksCommand {
    /// Every task; a paused one with what it needs before it can be enabled.
    List,
    /// Enable a task (refused, naming what is missing, unless mail is kept 58 days and its
    /// connection passed its test).
    Enable { id: i64 },
    /// Pause a task.
    Disable { id: i64 },
}

#[derive(Subcommand)]
enum ConnectionsCommand {
    /// Every connection with the outcome of its last test.
    List,
    /// Test a connection (optionally reaching one mailbox); the outcome is kept.
    Test {
        id: i64,
        #[arg(long)]
        mailbox: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; names the first entry that was changed, removed or inserted,
    /// and exits with status 1 when there is one.
    Verify,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add a user; the password is read from SR_PASSWORD or asked for.
    Add {
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        admin: bool,
        /// Create the account without a local password (single sign-on only).
        #[arg(long)]
        no_password: bool,
        /// A mail address the user owns: they see the archived mailboxes of it (repeatable).
        #[arg(long = "address")]
        addresses: Vec<String>,
    },
    /// Set a user's password (from SR_PASSWORD or asked for).
    SetPassword { username: String },
    /// List users.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Config = cli.command {
        server::cli::out(format_args!("{}", server::config::DEFAULTS));
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("sync-recover: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init_logging(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sync-recover: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sync-recover: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => serve(settings, demo).await,
        Command::Migrate => {
            open_database(&settings).await?;
            server::say!("database is up to date");
            Ok(())
        }
        Command::Config => Ok(()),
        Command::Users(command) => users(command, settings).await,
        Command::Import {
            path,
            mailbox,
            owner,
            display_name,
            format,
            folder,
        } => {
            let args = cli::archive::ImportArgs {
                path,
                format,
                mailbox,
                owner,
                display_name,
                folder,
            };
            cli::archive::run_import(&settings, args).await
        }
        Command::Search {
            query,
            mailboxes,
            limit,
        } => cli::archive::run_search(&settings, &query, &mailboxes, limit).await,
        Command::Reindex => cli::archive::run_reindex(&settings).await,
        Command::Retention(RetentionCommand::Show) => cli::retention::show(&settings).await,
        Command::Retention(RetentionCommand::Set {
            mailbox,
            mail,
            calendar,
            contacts,
            basis,
        }) => {
            cli::retention::set(
                &settings,
                cli::retention::SetArgs {
                    mailbox,
                    mail,
                    calendar,
                    contacts,
                    basis,
                },
            )
            .await
        }
        Command::Retention(RetentionCommand::Purge { mailbox, dry_run }) => {
            cli::retention::purge(&settings, mailbox, dry_run).await
        }
        Command::Tasks(TasksCommand::List) => cli::tasks::tasks(&settings).await,
        Command::Tasks(TasksCommand::Enable { id }) => {
            cli::tasks::set_task_enabled(&settings, id, true).await
        }
        Command::Tasks(TasksCommand::Disable { id }) => {
            cli::tasks::set_task_enabled(&settings, id, false).await
        }
        Command::Connections(ConnectionsCommand::List) => cli::tasks::connections(&settings).await,
        Command::Connections(ConnectionsCommand::Test { id, mailbox }) => {
            cli::tasks::test_connection(&settings, id, mailbox).await
        }
        Command::Export {
            mailbox,
            folder,
            snapshot,
            at,
            format,
            only,
            out,
        } => {
            cli::export::run_export(
                &settings,
                cli::export::ExportArgs {
                    taken: cli::jobs::Taken {
                        mailbox,
                        folder,
                        snapshot,
                        at,
                        only,
                    },
                    format,
                    out,
                },
            )
            .await
        }
        Command::Restore {
            mailbox,
            folder,
            snapshot,
            at,
            only,
            into,
            connection,
            new_folder,
            dry_run,
            resume,
        } => {
            cli::restore::run_restore(
                &settings,
                cli::restore::RestoreArgs {
                    taken: cli::jobs::Taken {
                        mailbox: mailbox.unwrap_or_default(),
                        folder,
                        snapshot,
                        at,
                        only,
                    },
                    into,
                    connection,
                    new_folder,
                    dry_run,
                    resume,
                },
            )
            .await
        }
        Command::Audit(AuditCommand::Verify) => {
            let log = access::AuditLog::new(open_database(&settings).await?);
            let report = log.verify().await?;
            match report.broken {
                None => {
                    server::say!(
                        "audit log intact: {} entries, every hash and link checked",
                        report.entries
                    );
                    Ok(())
                }
                Some((seq, why)) => anyhow::bail!(
                    "audit log broken at entry {seq}: {why} ({} entries before it are intact)",
                    report.entries
                ),
            }
        }
        Command::Simulator { listen, seed } => {
            let mut config = exchange_sim::SimConfig {
                listen,
                ..server::demo::simulator_config()
            };
            if let Some(seed) = seed {
                config.seed_dir = Some(seed);
            }
            exchange_sim::run(config).await?;
            Ok(())
        }
        Command::Stats => cli::archive::run_stats(&settings).await,
        Command::Blobs(BlobsCommand::Migrate) => cli::blobs::migrate(&settings).await,
    }
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    if server::web::bundles(&settings.server.site_root).is_none() {
        anyhow::bail!(
            "the browser bundle is missing ({}): build it with `scripts/build-site.sh` or set \
             server.site_root",
            settings.server.site_root.join("bundle.txt").display()
        );
    }
    if demo {
        let db = server::open_database(&settings).await?;
        let archive = server::archive_on(&settings, db.clone())?;
        if server::demo::seed(&db, &archive).await? {
            tracing::info!("created the demo accounts and archive");
        }
    }
    let app = Application::build(&settings).await?;
    // The demo syncs from the built-in simulator, which lives as long as the portal.
    let _simulator = if demo {
        let sim = exchange_sim::start(server::demo::simulator_config())
            .await
            .map_err(|e| anyhow::anyhow!("cannot start the demo Exchange simulator: {e}"))?;
        tracing::info!(url = %sim.base_url(), "demo Exchange simulator running");
        server::demo::seed_sync(app.sync(), app.archive(), &sim).await?;
        Some(sim)
    } else {
        None
    };
    let addr = app.local_addr()?;
    // Listening for signals starts before the address is announced: whoever reads it may stop us.
    let shutdown = shutdown_signal();
    tracing::info!(%addr, "portal listening on http://{addr}");
    if demo {
        server::say!("\nSync & Recover is running at http://{addr}");
        for account in server::demo::DEMO_ACCOUNTS {
            let role = if account.is_admin {
                "administrator"
            } else {
                "end user"
            };
            server::say!(
                "  sign in as {:<6} password {:<15} ({role})",
                account.username,
                account.password
            );
        }
        server::say!("Stop it with Ctrl-C.\n");
    }
    app.run_until(shutdown).await?;
    Ok(())
}

async fn users(command: UsersCommand, settings: Settings) -> anyhow::Result<()> {
    let db = open_database(&settings).await?;
    let accounts = Accounts::new(db.clone());
    let roles = access::Roles::new(db.clone());
    let audit = access::AuditLog::new(db);
    match command {
        UsersCommand::Add {
            username,
            display_name,
            admin,
            no_password,
            addresses,
        } => {
            let password = if no_password {
                None
            } else {
                Some(read_password()?)
            };
            let display_name = display_name.unwrap_or_else(|| username.clone());
            let user = accounts
                .create_user(&username, &display_name, password.as_deref())
                .await?;
            for address in &addresses {
                accounts.add_address(user.id, address).await?;
            }
            audit
                .command_line(access::AuditAction::UserCreated, user.username.clone())
                .await?;
            if admin {
                roles.assign_builtin(user.id, access::ADMINISTRATOR).await?;
                audit
                    .command_line(
                        access::AuditAction::RoleAssigned,
                        format!("{}: {}", user.username, access::ADMINISTRATOR),
                    )
                    .await?;
            }
            server::say!(
                "added {}{}",
                user.username,
                if admin { " (Administrator)" } else { "" }
            );
        }
        UsersCommand::SetPassword { username } => {
            accounts.set_password(&username, &read_password()?).await?;
            audit
                .command_line(
                    access::AuditAction::PasswordSet,
                    username.trim().to_lowercase(),
                )
                .await?;
            server::say!("password changed for {}", username.trim().to_lowercase());
        }
        UsersCommand::List => {
            for user in accounts.list_users().await? {
                let held: Vec<String> = roles
                    .assignments(user.id)
                    .await?
                    .into_iter()
                    .map(|a| match a.scope {
                        access::Scope::All => a.role.name,
                        scope => format!("{} ({})", a.role.name, scope.describe()),
                    })
                    .collect();
                let role = if held.is_empty() {
                    "end user".to_owned()
                } else {
                    held.join(", ")
                };
                let state = if user.disabled { "\tdisabled" } else { "" };
                server::say!("{}\t{role}\t{}{state}", user.username, user.display_name);
            }
        }
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("SR_PASSWORD") {
        return Ok(password);
    }
    Ok(rpassword::prompt_password("Password: ")?)
}
