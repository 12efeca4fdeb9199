use leptos::prelude::*;

use crate::api::admin::{
    admin_connections, test_connection, AdminConnection, CreateConnection, DeleteConnection,
};
use crate::components::admin_frame::AdminFrame;
use crate::components::outcome::{reset_after_success, OutcomeLine};
use crate::components::Title;

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    view! {
        <Title text="Server connections" />
        <AdminFrame permission="connections">
            <Connections />
        </AdminFrame>
    }
}

#[component]
fn Connections() -> impl IntoView {
    let create = ServerAction::<CreateConnection>::new();
    let form = reset_after_success(move || create.value().get());
    let delete = ServerAction::<DeleteConnection>::new();
    let list = Resource::new(
        move || (create.version().get(), delete.version().get()),
        |_| admin_connections(),
    );
    let kind = RwSignal::new("ews".to_owned());
    let ews = move || kind.get() == "ews";

    view! {
        <section class="admin-section">
            <h1>"Server connections"</h1>
            <p class="muted">
                "How Sync & Recover reaches Exchange: on-premises through EWS with a service account that has the ApplicationImpersonation role, or Exchange Online through Microsoft Graph with an app registration (client credentials). Secrets are encrypted at rest and never shown again."
            </p>
            <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) if list.is_empty() => {
                            view! { <p class="empty">"No connection yet: add one below."</p> }.into_any()
                        }
                        Ok(list) => {
                            view! {
                                <table class="admin-table">
                                    <thead>
                                        <tr>
                                            <th>"Name"</th>
                                            <th>"Kind"</th>
                                            <th>"Endpoint"</th>
                                            <th>"Account"</th>
                                            <th>"Secret"</th>
                                            <th>"Tasks"</th>
                                            <th>"Last test"</th>
                                            <th></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|c| view! { <ConnectionRow connection=c delete /> })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            {move || view! { <OutcomeLine outcome=delete.value().get() /> }}
        </section>

        <section class="admin-section">
            <h2>"Add a connection"</h2>
            <ActionForm action=create node_ref=form attr:class="admin-form">
                <label>
                    "Kind"
                    <select name="kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="ews" selected=ews>"Exchange on-premises (EWS)"</option>
                        <option value="graph" selected=move || !ews()>"Exchange Online (Microsoft Graph)"</option>
                    </select>
                </label>
                <label>
                    "Name"
                    <input type="text" name="name" placeholder="Head office Exchange" required />
                </label>
                <div class="field-group" class:hidden=move || !ews()>
                    <label>
                        "EWS URL"
                        <input type="text" name="url" placeholder="https://mail.example.com/EWS/Exchange.asmx" />
                    </label>
                    <label>
                        "Service account"
                        <input type="text" name="username" placeholder="svc-archive@example.com" autocomplete="off" />
                    </label>
                </div>
                <div class="field-group" class:hidden=ews>
                    <label>
                        "Tenant id"
                        <input type="text" name="tenant_id" placeholder="contoso.onmicrosoft.com or a GUID" />
                    </label>
                    <label>
                        "Application (client) id"
                        <input type="text" name="client_id" autocomplete="off" />
                    </label>
                </div>
                <label>
                    {move || if ews() { "Service account password" } else { "Client secret" }}
                    <input type="password" name="secret" autocomplete="new-password" required />
                </label>
                <button type="submit" class="primary" disabled=move || create.pending().get()>
                    "Add connection"
                </button>
                {move || view! { <OutcomeLine outcome=create.value().get() /> }}
            </ActionForm>
        </section>
    }
}

#[component]
fn ConnectionRow(
    connection: AdminConnection,
    delete: ServerAction<DeleteConnection>,
) -> impl IntoView {
    let id = connection.id;
    let in_use = connection.task_count > 0;
    let probe = RwSignal::new(String::new());
    let test = Action::new(move |mailbox: &String| {
        let mailbox = mailbox.clone();
        async move { test_connection(id, Some(mailbox)).await }
    });
    let kind = if connection.kind == "ews" {
        "Exchange on-premises (EWS)"
    } else {
        "Exchange Online (Graph)"
    };
    view! {
        <tr>
            <td><strong>{connection.name.clone()}</strong></td>
            <td>{kind}</td>
            <td class="mono">{connection.endpoint.clone()}</td>
            <td class="mono">{connection.account.clone()}</td>
            <td>{if connection.has_secret { "stored, encrypted" } else { "missing" }}</td>
            <td>{connection.task_count}</td>
            <td class=if connection.test_passed { "test-state ok" } else { "test-state" }>
                {connection.last_test.clone().unwrap_or_else(|| "Never tested: a sync task cannot run on it yet".to_owned())}
            </td>
            <td class="actions">
                <input
                    type="text"
                    class="probe"
                    placeholder="mailbox to try (optional)"
                    aria-label="Mailbox to try"
                    bind:value=probe
                />
                <button type="button" on:click=move |_| { test.dispatch(probe.get()); } disabled=move || test.pending().get()>
                    {move || if test.pending().get() { "Testing…" } else { "Test" }}
                </button>
                <ActionForm action=delete attr:class="inline">
                    <input type="hidden" name="id" value=id.to_string() />
                    <button
                        type="submit"
                        class="danger"
                        disabled=in_use
                        title=if in_use { "Used by a sync task" } else { "" }
                    >
                        "Delete"
                    </button>
                </ActionForm>
            </td>
        </tr>
        {move || {
            test.value()
                .get()
                .map(|result| {
                    view! {
                        <tr class="test-result">
                            <td colspan="8">
                                {match result {
                                    Ok(report) => {
                                        view! {
                                            <p class=if report.ok { "outcome ok" } else { "outcome error" } role="status">
                                                {report.message.clone()}
                                            </p>
                                            <ul class="steps">
                                                {report
                                                    .steps
                                                    .into_iter()
                                                    .map(|s| {
                                                        view! {
                                                            <li class:ok=s.ok class:failed=!s.ok>
                                                                <strong>{s.step}</strong>
                                                                " "
                                                                {s.detail}
                                                            </li>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </ul>
                                        }
                                            .into_any()
                                    }
                                    Err(e) => view! { <p class="outcome error">{e.to_string()}</p> }.into_any(),
                                }}
                            </td>
                        </tr>
                    }
                })
        }}
    }
}
