//! Roles: the built-in ones as they are, and the organisation's own, each a checklist of
//! permissions.

use std::collections::BTreeSet;

use leptos::prelude::*;

use crate::api::people::{
    admin_roles, CreateRole, DeleteRole, PermissionView, RoleView, UpdateRole,
};
use crate::components::admin_frame::AdminFrame;
use crate::components::outcome::{reset_after_success, OutcomeLine};
use crate::components::Title;

#[component]
pub fn RolesPage() -> impl IntoView {
    view! {
        <Title text="Roles" />
        <AdminFrame permission="roles">
            <Roles />
        </AdminFrame>
    }
}

#[component]
fn Roles() -> impl IntoView {
    let create = ServerAction::<CreateRole>::new();
    let update = ServerAction::<UpdateRole>::new();
    let delete = ServerAction::<DeleteRole>::new();
    let form = reset_after_success(move || create.value().get());
    let screen = Resource::new(
        move || {
            (
                create.version().get(),
                update.version().get(),
                delete.version().get(),
            )
        },
        |_| admin_roles(),
    );
    let chosen = RwSignal::new(BTreeSet::<String>::new());

    view! {
        <section class="admin-section">
            <h1>"Roles"</h1>
            <p class="muted">
                "A role is a set of permissions, each one admin screen or action. Give roles to users on the Users screen, for all mailboxes or only some domains and addresses."
            </p>
            {move || view! { <OutcomeLine outcome=update.value().get() /> }}
            {move || view! { <OutcomeLine outcome=delete.value().get() /> }}
            <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                {move || Suspend::new(async move {
                    match screen.await {
                        Ok(s) => {
                            let perms = s.permissions.clone();
                            s.roles
                                .into_iter()
                                .map(|role| view! { <RoleCard role perms=perms.clone() update delete /> })
                                .collect_view()
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>

        <section class="admin-section">
            <h2>"Create a role"</h2>
            <ActionForm action=create node_ref=form attr:class="admin-form">
                <label>"Name" <input type="text" name="name" required placeholder="Compliance officers" /></label>
                <label>"Description" <input type="text" name="description" /></label>
                <input type="hidden" name="permissions" prop:value=move || joined(chosen) />
                <fieldset class="checks permission-list">
                    <legend>"Permissions"</legend>
                    {move || screen.get().and_then(Result::ok).map(|s| s.permissions.into_iter().map(|p| {
                        let name = p.name.clone();
                        view! {
                            <label>
                                <input type="checkbox" on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let name = name.clone();
                                    chosen.update(|c| { if on { c.insert(name); } else { c.remove(&name); } });
                                } />
                                {format!(" {}", p.label)}
                            </label>
                        }
                    }).collect_view())}
                </fieldset>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create role"</button>
                {move || view! { <OutcomeLine outcome=create.value().get() /> }}
            </ActionForm>
        </section>
    }
}

#[component]
fn RoleCard(
    role: RoleView,
    perms: Vec<PermissionView>,
    update: ServerAction<UpdateRole>,
    delete: ServerAction<DeleteRole>,
) -> impl IntoView {
    let held: BTreeSet<String> = role.permissions.iter().cloned().collect();
    let chosen = RwSignal::new(held.clone());
    let builtin = role.builtin;
    let id = role.id.to_string();
    let delete_id = id.clone();
    let checks = perms
        .into_iter()
        .map(|p| {
            let name = p.name.clone();
            let checked = held.contains(&p.name);
            view! {
                <label>
                    <input type="checkbox" checked=checked disabled=builtin on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        let name = name.clone();
                        chosen.update(|c| { if on { c.insert(name); } else { c.remove(&name); } });
                    } />
                    {format!(" {}", p.label)}
                </label>
            }
        })
        .collect_view();
    view! {
        <article class="task-card role-card">
            <header>
                <h3>{role.name.clone()}</h3>
                {builtin.then(|| view! { <span class="status status-pending builtin">"Built in"</span> })}
            </header>
            <ActionForm action=update attr:class="admin-form">
                <input type="hidden" name="id" value=id />
                <label>"Description" <input type="text" name="description" value=role.description.clone() disabled=builtin /></label>
                <input type="hidden" name="permissions" prop:value=move || joined(chosen) />
                <fieldset class="checks permission-list">{checks}</fieldset>
                {(!builtin).then(|| view! { <button type="submit">"Save"</button> })}
            </ActionForm>
            {(!builtin).then(|| view! {
                <ActionForm action=delete attr:class="inline-form">
                    <input type="hidden" name="id" value=delete_id.clone() />
                    <button type="submit" class="danger">"Delete role"</button>
                </ActionForm>
            })}
        </article>
    }
}

/// The checked permissions as the server function takes them.
fn joined(chosen: RwSignal<BTreeSet<String>>) -> String {
    chosen.get().into_iter().collect::<Vec<_>>().join(",")
}
