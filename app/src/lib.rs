//! The Leptos UI, shared by the server (rendering) and the browser (hydration).
//!
//! Folders by kind: `pages/` holds one module per screen, `components/` the pieces they share,
//! `api/` the server functions the pages call (their bodies run on the server only).

pub mod api;
mod components;
#[cfg(feature = "ssr")]
pub mod format;
mod pages;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use pages::access_log::AccessLogPage;
use pages::home::HomePage;
use pages::mail::MailPage;
use pages::not_found::NotFoundPage;
use pages::sign_in::SignInPage;

/// The names the browser bundles were built under, with their content hashes (see
/// scripts/build-site.sh). The server provides them to [`shell`], which picks the admin bundle
/// for the admin screens and the mail bundle for every other page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundles {
    pub mail: String,
    pub admin: String,
    pub stylesheet: String,
}

/// The HTML document around the app, rendered on the server only.
#[cfg(feature = "ssr")]
pub fn shell(mut options: LeptosOptions) -> impl IntoView {
    let bundles = use_context::<Bundles>();
    if let Some(bundles) = &bundles {
        let admin = use_context::<http::request::Parts>()
            .is_some_and(|parts| parts.uri.path().starts_with("/admin"));
        options.output_name = if admin {
            bundles.admin.clone()
        } else {
            bundles.mail.clone()
        }
        .into();
    }
    let stylesheet = format!(
        "/pkg/{}",
        bundles.map_or_else(|| format!("{}.css", options.output_name), |b| b.stylesheet)
    );
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="stylesheet" href=stylesheet />
                <HydrationScripts options />
                <leptos_meta::MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    // The head's tags (the title) are written by the server; the browser leaves the head alone.
    #[cfg(feature = "ssr")]
    leptos_meta::provide_meta_context();
    components::hydration::mark_hydrated();

    view! {
        <Router>
            <Routes fallback=NotFoundPage>
                // Async: the whole page waits for its data, so a signed-out visit gets a real
                // 302 to sign-in (headers are still unsent) instead of a page that redirects.
                <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async />
                <Route path=path!("/mail") view=MailPage ssr=SsrMode::Async />
                <Route path=path!("/access-log") view=AccessLogPage ssr=SsrMode::Async />
                <AdminRoutes />
            </Routes>
        </Router>
    }
}

/// The admin screens, in the server's rendering and in the admin bundle.
#[cfg(feature = "admin-ui")]
#[component(transparent)]
fn AdminRoutes() -> impl leptos_router::MatchNestedRoutes + Clone {
    use leptos_router::components::{Outlet, ParentRoute, Redirect};
    use pages::admin::audit::AuditPage;
    use pages::admin::connections::ConnectionsPage;
    use pages::admin::explorer::{
        AdminSearchPage, CalendarPage, ChangesPage, ContactsPage, ExplorerMailboxPage,
        MailboxesPage, SnapshotsPage,
    };
    use pages::admin::export::NewExportPage;
    use pages::admin::jobs::JobsPage;
    use pages::admin::legacy::LegacyPage;
    use pages::admin::restore::NewRestorePage;
    use pages::admin::retention::RetentionPage;
    use pages::admin::roles::RolesPage;
    use pages::admin::tasks::TasksPage;
    use pages::admin::users::UsersPage;
    // One route holding the others: with `erase_components` (the browser builds) a route group
    // must be a single route.
    view! {
        <ParentRoute path=path!("") view=Outlet>
        <Route path=path!("/admin") view=|| view! { <Redirect path="/admin/tasks" /> } />
        <Route path=path!("/admin/connections") view=ConnectionsPage ssr=SsrMode::Async />
        <Route path=path!("/admin/tasks") view=TasksPage ssr=SsrMode::Async />
        <Route path=path!("/admin/retention") view=RetentionPage ssr=SsrMode::Async />
        <Route path=path!("/admin/legacy") view=LegacyPage ssr=SsrMode::Async />
        <Route path=path!("/admin/audit") view=AuditPage ssr=SsrMode::Async />
        <Route path=path!("/admin/users") view=UsersPage ssr=SsrMode::Async />
        <Route path=path!("/admin/roles") view=RolesPage ssr=SsrMode::Async />
        <Route path=path!("/admin/mailboxes") view=MailboxesPage ssr=SsrMode::Async />
        <Route path=path!("/admin/mailbox") view=ExplorerMailboxPage ssr=SsrMode::Async />
        <Route path=path!("/admin/search") view=AdminSearchPage ssr=SsrMode::Async />
        <Route path=path!("/admin/mailbox/calendar") view=CalendarPage ssr=SsrMode::Async />
        <Route path=path!("/admin/mailbox/contacts") view=ContactsPage ssr=SsrMode::Async />
        <Route path=path!("/admin/mailbox/snapshots") view=SnapshotsPage ssr=SsrMode::Async />
        <Route path=path!("/admin/mailbox/changes") view=ChangesPage ssr=SsrMode::Async />
        <Route path=path!("/admin/jobs") view=JobsPage ssr=SsrMode::Async />
        <Route path=path!("/admin/export") view=NewExportPage ssr=SsrMode::Async />
        <Route path=path!("/admin/restore") view=NewRestorePage ssr=SsrMode::Async />
        </ParentRoute>
    }
    .into_inner()
}

/// The mail bundle has no admin screens: a move to one loads it as a new page, which brings the
/// admin bundle (links there say `rel="external"`, so this is only the safety net).
#[cfg(not(feature = "admin-ui"))]
#[component(transparent)]
fn AdminRoutes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! { <Route path=path!("/admin/*any") view=FullPageLoad /> }.into_inner()
}

#[cfg(not(feature = "admin-ui"))]
#[component]
fn FullPageLoad() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        let search = location.search.get();
        let query = if search.is_empty() || search.starts_with('?') {
            search
        } else {
            format!("?{search}")
        };
        let target = format!("{}{query}", location.pathname.get());
        let _ = window().location().assign(&target);
    });
}
