//! Users: find, create, disable and re-enable, sign out everywhere, set their addresses and
//! password, give and take roles.

use leptos::prelude::*;

use crate::api::people::{
    admin_users, AssignRole, CreateUser, RoleView, SetUserAddresses, SetUserDisabled,
    SetUserPassword, SignOutUser, UnassignRole, UserView,
};
use crate::components::admin_frame::AdminFrame;
use crate::components::outcome::{reset_after_success, OutcomeLine};
use crate::components::Title;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Title text="Users" />
        <AdminFrame permission="users">
            <Users />
        </AdminFrame>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    disable: ServerAction<SetUserDisabled>,
    sign_out: ServerAction<SignOutUser>,
    addresses: ServerAction<SetUserAddresses>,
    password: ServerAction<SetUserPassword>,
    assign: ServerAction<AssignRole>,
    unassign: ServerAction<UnassignRole>,
}

#[component]
fn Users() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let form = reset_after_success(move || create.value().get());
    let actions = Actions {
        disable: ServerAction::new(),
        sign_out: ServerAction::new(),
        addresses: ServerAction::new(),
        password: ServerAction::new(),
        assign: ServerAction::new(),
        unassign: ServerAction::new(),
    };
    let query = RwSignal::new(String::new());
    let list = Resource::new(
        move || {
            (
                query.get(),
                create.version().get(),
                actions.disable.version().get(),
                actions.addresses.version().get(),
                actions.assign.version().get(),
                actions.unassign.version().get(),
            )
        },
        |(query, ..)| admin_users(query),
    );

    view! {
        <section class="admin-section">
            <h1>"Users"</h1>
            <p class="muted">
                "Who can sign in, which archived mailboxes are their own (by address), and which roles they hold. A disabled user is signed out at once."
            </p>
            <input
                type="search"
                class="filter"
                placeholder="Find a user by name or address"
                aria-label="Find a user"
                on:input=move |ev| query.set(event_target_value(&ev))
            />
            {move || view! { <OutcomeLine outcome=actions.disable.value().get() /> }}
            {move || view! { <OutcomeLine outcome=actions.sign_out.value().get() /> }}
            {move || view! { <OutcomeLine outcome=actions.addresses.value().get() /> }}
            {move || view! { <OutcomeLine outcome=actions.password.value().get() /> }}
            {move || view! { <OutcomeLine outcome=actions.assign.value().get() /> }}
            {move || view! { <OutcomeLine outcome=actions.unassign.value().get() /> }}
            <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(screen) if screen.users.is_empty() => {
                            view! { <p class="empty">"No user matches."</p> }.into_any()
                        }
                        Ok(screen) => {
                            let roles = screen.roles.clone();
                            screen
                                .users
                                .into_iter()
                                .map(|user| view! { <UserCard user roles=roles.clone() actions /> })
                                .collect_view()
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>

        <section class="admin-section">
            <h2>"Add a user"</h2>
            <ActionForm action=create node_ref=form attr:class="admin-form">
                <label>"User name" <input type="text" name="username" required autocomplete="off" /></label>
                <label>"Display name" <input type="text" name="display_name" /></label>
                <label>
                    "Password (leave empty for single sign-on only)"
                    <input type="password" name="password" autocomplete="new-password" />
                </label>
                <label>
                    "Mail addresses (their archived mailboxes)"
                    <textarea name="addresses" rows="2" placeholder="ann@example.com"></textarea>
                </label>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Add user"</button>
                {move || view! { <OutcomeLine outcome=create.value().get() /> }}
            </ActionForm>
        </section>
    }
}

#[component]
fn UserCard(user: UserView, roles: Vec<RoleView>, actions: Actions) -> impl IntoView {
    let id = user.id.to_string();
    let disabled = user.disabled;
    let held = user
        .roles
        .iter()
        .map(|r| {
            let (uid, rid) = (id.clone(), r.role_id.to_string());
            view! {
                <li class="chip">
                    {r.name.clone()}
                    <span class="muted">{format!(" · {}", r.scope)}</span>
                    <ActionForm action=actions.unassign attr:class="inline-form">
                        <input type="hidden" name="user" value=uid />
                        <input type="hidden" name="role" value=rid />
                        <button type="submit" class="link" title="Take this role away">"×"</button>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    let (id_assign, id_addresses, id_password, id_sign_out, id_disable) =
        (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
    let choices = roles
        .into_iter()
        .map(|r| view! { <option value=r.id.to_string()>{r.name}</option> })
        .collect_view();
    view! {
        <article class="task-card user-card" class:disabled=disabled>
            <header>
                <h3>{user.display_name.clone()} <span class="muted">{format!(" ({})", user.username)}</span></h3>
                <span class=if disabled { "status status-failed" } else { "status status-healthy" }>
                    {if disabled { "Disabled" } else { "Enabled" }}
                </span>
            </header>
            <ul class="chips">
                {if user.roles.is_empty() {
                    Some(view! { <li class="muted">"End user: sees only their own mail"</li> })
                } else {
                    None
                }}
                {held}
            </ul>
            <div class="card-forms">
                <ActionForm action=actions.assign attr:class="inline-form">
                    <input type="hidden" name="user" value=id_assign />
                    <select name="role" aria-label="Role">{choices}</select>
                    <input type="text" name="scope" placeholder="all mailboxes, or domains/addresses" aria-label="Scope" />
                    <button type="submit">"Give role"</button>
                </ActionForm>
                <ActionForm action=actions.addresses attr:class="inline-form">
                    <input type="hidden" name="id" value=id_addresses />
                    <input type="text" name="addresses" value=user.addresses.join(", ") aria-label="Mail addresses" />
                    <button type="submit">"Save addresses"</button>
                </ActionForm>
                <ActionForm action=actions.password attr:class="inline-form">
                    <input type="hidden" name="id" value=id_password />
                    <input type="password" name="password" placeholder="new password" autocomplete="new-password" aria-label="New password" />
                    <button type="submit">"Set password"</button>
                </ActionForm>
                <div class="inline-form">
                    <ActionForm action=actions.sign_out attr:class="inline-form">
                        <input type="hidden" name="id" value=id_sign_out />
                        <button type="submit">"Sign out everywhere"</button>
                    </ActionForm>
                    <ActionForm action=actions.disable attr:class="inline-form">
                        <input type="hidden" name="id" value=id_disable />
                        <input type="hidden" name="disabled" value=if disabled { "false" } else { "true" } />
                        <button type="submit" class:danger=!disabled>{if disabled { "Enable" } else { "Disable" }}</button>
                    </ActionForm>
                </div>
            </div>
        </article>
    }
}
