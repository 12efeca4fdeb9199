//! Legacy migration: the agents of the older Synchronization Engine, the users they submit for,
//! and moving users to direct sync (one way).

use leptos::prelude::*;

use std::time::Duration;

use leptos_router::hooks::use_query_map;

use crate::api::legacy::{
    legacy_overview, AgentView, CreateAgent, ImportFileView, JobLineView, LegacyUserView,
    MigrateUsers, RevokeAgent, StartImport,
};
use crate::components::admin_frame::AdminFrame;
use crate::components::job_lines::JobLines;
use crate::components::outcome::OutcomeLine;
use crate::components::ticker::ticker;
use crate::components::Title;

#[component]
pub fn LegacyPage() -> impl IntoView {
    view! {
        <Title text="Legacy migration" />
        <AdminFrame permission="legacy_import">
            <Legacy />
        </AdminFrame>
    }
}

#[component]
fn Legacy() -> impl IntoView {
    let create = ServerAction::<CreateAgent>::new();
    let revoke = ServerAction::<RevokeAgent>::new();
    let migrate = ServerAction::<MigrateUsers>::new();
    let import = ServerAction::<StartImport>::new();
    // Imports run in the background: their lines refresh every few seconds.
    let tick = ticker(Duration::from_secs(3), || true);
    let overview = Resource::new(
        move || {
            (
                create.version().get(),
                revoke.version().get(),
                migrate.version().get(),
                import.version().get(),
                tick.get(),
            )
        },
        |_| legacy_overview(),
    );
    // The addresses to migrate: typed, or added from the list of users.
    let chosen = RwSignal::new(String::new());
    let confirmed = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(_)) = migrate.value().get() {
            chosen.set(String::new());
            confirmed.set(false);
        }
    });
    view! {
        <section class="admin-section">
            <h1>"Legacy migration"</h1>
            <p class="muted">
                "Users of the older agent-based Synchronization Engine keep their folders through its agent: it submits each user's folder tree and message metadata, and the archive places the content it already holds (matched by Internet-Message-Id) in those folders. Migrating a user moves them to direct sync for good."
            </p>
        </section>
        <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => {
                        let endpoint = o.endpoint.clone();
                        view! {
                            <Agents agents=o.agents.clone() endpoint create revoke />
                            <Users users=o.users.clone() chosen />
                            <Imports files=o.files.clone() imports=o.imports.clone() import />
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <section class="admin-section">
            <h2>"Migrate users to direct sync"</h2>
            <ActionForm action=migrate attr:class="admin-form">
                <label>
                    "Users (one address per line)"
                    <textarea name="addresses" rows="3" placeholder="alice@example.com" bind:value=chosen></textarea>
                </label>
                <p class="warning-text">
                    "There is no rollback: from then on the agent's submissions for these users are ignored (and counted), and their next sync pulls every folder and message. What the archive shows of them now stays as it is."
                </p>
                <label class="confirm">
                    <input type="checkbox" name="confirm" value="yes" bind:checked=confirmed />
                    " I understand a migration cannot be rolled back"
                </label>
                <button type="submit" class="primary" disabled=move || !confirmed.get() || migrate.pending().get()>
                    "Migrate"
                </button>
                {move || view! { <OutcomeLine outcome=migrate.value().get() /> }}
            </ActionForm>
        </section>
    }
}

#[component]
fn Agents(
    agents: Vec<AgentView>,
    endpoint: String,
    create: ServerAction<CreateAgent>,
    revoke: ServerAction<RevokeAgent>,
) -> impl IntoView {
    view! {
        <section class="admin-section">
            <h2>"Agents"</h2>
            {if agents.is_empty() {
                view! { <p class="empty">"No agent yet: add one below and give its token to the agent."</p> }.into_any()
            } else {
                view! {
                    <table class="admin-table">
                        <thead>
                            <tr>
                                <th>"Name"</th>
                                <th>"Token"</th>
                                <th>"Created"</th>
                                <th>"Last used"</th>
                                <th>"Submissions"</th>
                                <th></th>
                            </tr>
                        </thead>
                        <tbody>
                            {agents
                                .into_iter()
                                .map(|a| {
                                    let id = a.id;
                                    view! {
                                        <tr class:revoked=a.revoked.is_some()>
                                            <td><strong>{a.name.clone()}</strong></td>
                                            <td class="mono">{a.token_hint.clone()}</td>
                                            <td>{a.created.clone()}</td>
                                            <td>{a.last_used.clone()}</td>
                                            <td>{a.submissions}</td>
                                            <td class="actions">
                                                {match a.revoked.clone() {
                                                    Some(at) => view! { <span class="muted">{format!("Revoked {at}")}</span> }.into_any(),
                                                    None => view! {
                                                        <ActionForm action=revoke attr:class="inline">
                                                            <input type="hidden" name="id" value=id.to_string() />
                                                            <button type="submit" class="danger">"Revoke"</button>
                                                        </ActionForm>
                                                    }
                                                        .into_any(),
                                                }}
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
            {move || view! { <OutcomeLine outcome=revoke.value().get() /> }}
            <ActionForm action=create attr:class="admin-form inline-form">
                <label>
                    "New agent"
                    <input type="text" name="name" placeholder="The server the agent runs on" required />
                </label>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create token"</button>
            </ActionForm>
            {move || {
                create.value().get().map(|made| match made {
                    Ok(made) => view! {
                        <div class="new-token" role="status">
                            <p>
                                <strong>{format!("Token of “{}”", made.name)}</strong>
                                " — copy it now; it is never shown again:"
                            </p>
                            <code class="token">{made.token}</code>
                            <p class="muted small">
                                {format!("The agent POSTs its submissions to {} with the header “Authorization: Bearer <token>”.", endpoint)}
                            </p>
                        </div>
                    }
                        .into_any(),
                    Err(e) => view! { <p class="outcome error" role="alert">{e.to_string()}</p> }.into_any(),
                })
            }}
        </section>
    }
}

#[component]
fn Users(users: Vec<LegacyUserView>, chosen: RwSignal<String>) -> impl IntoView {
    view! {
        <section class="admin-section">
            <h2>"Users"</h2>
            {if users.is_empty() {
                view! { <p class="empty">"No agent has submitted yet, and nobody was migrated."</p> }.into_any()
            } else {
                view! {
                    <table class="admin-table legacy-users">
                        <thead>
                            <tr>
                                <th>"User"</th>
                                <th>"Submissions"</th>
                                <th>"Last submission"</th>
                                <th>"State"</th>
                                <th></th>
                            </tr>
                        </thead>
                        <tbody>
                            {users
                                .into_iter()
                                .map(|u| {
                                    let address = u.address.clone();
                                    let migrated = u.migrated.is_some();
                                    view! {
                                        <tr>
                                            <td class="mono">{u.address.clone()}</td>
                                            <td>{u.submissions}</td>
                                            <td>{u.last_submission.clone()}</td>
                                            <td>
                                                {match u.migrated.clone() {
                                                    Some(m) => view! { <span class="status status-healthy">"direct sync"</span> " " <span class="muted small">{m}</span> }.into_any(),
                                                    None => view! { <span class="status status-pending">"legacy agent"</span> }.into_any(),
                                                }}
                                                {u.ignored.clone().map(|i| view! { <div class="reason">{i}</div> })}
                                            </td>
                                            <td class="actions">
                                                {(!migrated).then(|| view! {
                                                    <button
                                                        type="button"
                                                        on:click=move |_| {
                                                            let address = address.clone();
                                                            chosen.update(|list| {
                                                                if !list.lines().any(|l| l.trim() == address) {
                                                                    if !list.is_empty() && !list.ends_with('\n') {
                                                                        list.push('\n');
                                                                    }
                                                                    list.push_str(&address);
                                                                }
                                                            });
                                                        }
                                                    >
                                                        "Choose to migrate"
                                                    </button>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
        </section>
    }
}

/// Importing legacy mail: files waiting in the server's import folder (copied there, or uploaded
/// here), each imported into a mailbox as a background job.
#[component]
fn Imports(
    files: Vec<ImportFileView>,
    imports: Vec<JobLineView>,
    import: ServerAction<StartImport>,
) -> impl IntoView {
    let query = use_query_map();
    let uploaded = move || query.with(|q| q.get("uploaded"));
    let upload_error = move || query.with(|q| q.get("upload_error"));
    view! {
        <section class="admin-section">
            <h2>"Import legacy mail"</h2>
            <p class="muted">
                "PST (not OST), mbox, Maildir or a folder of EML files, from the server's import folder (data_dir/imports). Copy large files there; smaller ones can be uploaded here."
            </p>
            {move || uploaded().map(|name| view! { <p class="outcome ok" role="status">{format!("{name} uploaded: import it below.")}</p> })}
            {move || upload_error().map(|why| view! { <p class="outcome error" role="alert">{why}</p> })}
            <form class="admin-form inline-form upload-form" method="post" action="/admin/legacy/upload" enctype="multipart/form-data">
                <label>
                    "Upload a file"
                    <input type="file" name="file" required />
                </label>
                <button type="submit">"Upload"</button>
            </form>
            {if files.is_empty() {
                view! { <p class="empty">"The import folder is empty."</p> }.into_any()
            } else {
                view! {
                    <table class="admin-table import-files">
                        <thead>
                            <tr>
                                <th>"File"</th>
                                <th>"Size"</th>
                                <th>"Read as"</th>
                                <th>"Import into mailbox"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {files
                                .into_iter()
                                .map(|f| view! {
                                    <tr>
                                        <td class="mono">{f.name.clone()}</td>
                                        <td>{f.size.clone()}</td>
                                        <td>{f.format.clone()}</td>
                                        <td>
                                            <ActionForm action=import attr:class="inline">
                                                <input type="hidden" name="file" value=f.name.clone() />
                                                <input type="hidden" name="owner" value="" />
                                                <input type="text" name="mailbox" placeholder="owner@example.com" aria-label=format!("Mailbox for {}", f.name) required />
                                                <button type="submit">"Import"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
            {move || view! { <OutcomeLine outcome=import.value().get() /> }}
            {(!imports.is_empty()).then(|| view! {
                <h3>"Imports"</h3>
                <JobLines jobs=imports class="import-jobs" />
            })}
        </section>
    }
}
