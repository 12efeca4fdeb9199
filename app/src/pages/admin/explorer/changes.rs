//! What changed in a mailbox between two instants (a snapshot's and now, or any two): items
//! added, deleted, moved and read or unread, folders created, renamed, moved and deleted, each
//! with the two syncs it was observed between. Everything deleted in the range can be kept as a
//! selection for export and restore.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::header::{urlencode, ExplorerHeader, Tab};
use crate::api::explorer::{compare, ComparePage, SelectDeleted};
use crate::components::admin_frame::AdminFrame;
use crate::components::outcome::OutcomeLine;
use crate::components::Title;

#[component]
pub fn ChangesPage() -> impl IntoView {
    view! {
        <Title text="What changed" />
        <AdminFrame permission="snapshots" section="browse_mail">
            <Changes />
        </AdminFrame>
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Wanted {
    mailbox: Option<i64>,
    from: String,
    to: String,
    kinds: String,
    folder: Option<i64>,
    page: usize,
}

impl Wanted {
    fn url(&self) -> String {
        let mut url = format!(
            "/admin/mailbox/changes?m={}&from={}",
            self.mailbox.unwrap_or_default(),
            urlencode(&self.from)
        );
        if !self.to.is_empty() {
            url.push_str(&format!("&to={}", urlencode(&self.to)));
        }
        if !self.kinds.is_empty() {
            url.push_str(&format!("&kinds={}", urlencode(&self.kinds)));
        }
        if let Some(f) = self.folder {
            url.push_str(&format!("&folder={f}"));
        }
        if self.page > 0 {
            url.push_str(&format!("&page={}", self.page));
        }
        url
    }
}

#[component]
fn Changes() -> impl IntoView {
    let query = use_query_map();
    let wanted = Memo::new(move |_| {
        query.with(|q| {
            let text = |k: &str| q.get(k).unwrap_or_default();
            Wanted {
                mailbox: q.get("m").and_then(|m| m.parse().ok()),
                from: text("from"),
                to: text("to"),
                kinds: text("kinds"),
                folder: q.get("folder").and_then(|f| f.parse().ok()),
                page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
            }
        })
    });
    let select = ServerAction::<SelectDeleted>::new();
    let page = Resource::new(
        move || wanted.get(),
        |w| async move {
            match w.mailbox {
                Some(m) if !w.from.is_empty() => {
                    compare(m, w.from, w.to, w.kinds, w.folder, w.page)
                        .await
                        .map(Some)
                }
                _ => Ok(None),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <div class="loading">"Comparing…"</div> }>
            {move || Suspend::new(async move {
                let w = wanted.get_untracked();
                match page.await {
                    Ok(Some(p)) => view! { <Difference p w select /> }.into_any(),
                    Ok(None) => view! { <PickInstants w /> }.into_any(),
                    Err(e) => view! {
                        <PickInstants w />
                        <p class="outcome error" role="alert">{e.to_string()}</p>
                    }
                        .into_any(),
                }
            })}
        </Transition>
    }
}

/// The form choosing the two instants (also the whole screen before any is chosen).
#[component]
fn PickInstants(w: Wanted) -> impl IntoView {
    let input = |v: &str| v.get(..16).unwrap_or(v).to_owned();
    view! {
        <form method="GET" action="/admin/mailbox/changes" class="compare-form">
            <input type="hidden" name="m" value=w.mailbox.unwrap_or_default().to_string() />
            <label>"From (UTC)" <input type="datetime-local" name="from" value=input(&w.from) required /></label>
            <label>"To (UTC; empty for now)" <input type="datetime-local" name="to" value=input(&w.to) /></label>
            <button type="submit" class="primary">"Compare"</button>
        </form>
    }
}

#[component]
fn Difference(p: ComparePage, w: Wanted, select: ServerAction<SelectDeleted>) -> impl IntoView {
    let total: usize = p.counts.iter().map(|c| c.count).sum();
    let deleted = p
        .counts
        .iter()
        .find(|c| c.kind == "deleted")
        .map_or(0, |c| c.count);
    let chip = {
        let w = w.clone();
        move |kind: &str, label: String, count: usize| {
            let href = Wanted {
                kinds: kind.to_owned(),
                page: 0,
                ..w.clone()
            }
            .url();
            let current = w.kinds == kind;
            view! {
                <a href=href class="change-chip" class:current=current data-kind=kind.to_owned()>
                    <span class="change-count">{count.to_string()}</span>
                    " "
                    {label}
                </a>
            }
        }
    };
    let chips = p
        .counts
        .iter()
        .map(|c| chip(&c.kind, c.label.clone(), c.count))
        .collect_view();
    let pages = p.matching.div_ceil(p.page_size.max(1));
    let prev = (p.page > 0).then(|| {
        Wanted {
            page: p.page - 1,
            ..w.clone()
        }
        .url()
    });
    let next = (p.page + 1 < pages).then(|| {
        Wanted {
            page: p.page + 1,
            ..w.clone()
        }
        .url()
    });
    let to_text = if p.to_is_instant {
        p.to.at_full.clone()
    } else {
        "now".to_owned()
    };
    let from_value = p.from.at.clone();
    let to_value = if p.to_is_instant {
        p.to.at.clone()
    } else {
        String::new()
    };
    let folder_options = p.folders.clone();
    let chosen_folder = w.folder;
    view! {
        <ExplorerHeader mailbox_id=p.mailbox_id display_name=p.display_name.clone() owner=p.owner.clone() tab=Tab::Changes can_browse_calendars=p.can_browse_calendars />
        <PickInstants w=w.clone() />
        <section class="admin-section">
            <h2>{format!("{total} changes from {} to {to_text}", p.from.at_full)}</h2>
            <p class="muted small">{format!("Start: {} End: {}", p.from.precision, p.to.precision)}</p>
            <nav class="change-chips" aria-label="Kinds of change">
                {chip("", "All".to_owned(), total)}
                {chips}
            </nav>
            <form method="GET" action="/admin/mailbox/changes" class="folder-filter">
                <input type="hidden" name="m" value=p.mailbox_id.to_string() />
                <input type="hidden" name="from" value=w.from.clone() />
                <input type="hidden" name="to" value=w.to.clone() />
                <input type="hidden" name="kinds" value=w.kinds.clone() />
                <label>
                    "Folder "
                    <select name="folder" aria-label="Only changes in this folder">
                        <option value="">"Every folder"</option>
                        {folder_options.into_iter().map(|f| view! {
                            <option value=f.id.to_string() selected=chosen_folder == Some(f.id)>{f.path}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit">"Filter"</button>
            </form>
            {(deleted > 0).then(|| view! {
                <ActionForm action=select attr:class="inline-form select-deleted">
                    <input type="hidden" name="mailbox" value=p.mailbox_id.to_string() />
                    <input type="hidden" name="from" value=from_value.clone() />
                    <input type="hidden" name="to" value=to_value.clone() />
                    <input type="text" name="label" placeholder="Name the selection (optional)" />
                    <button type="submit">{format!("Select the {deleted} deleted items for export or restore")}</button>
                </ActionForm>
            })}
            {move || view! { <OutcomeLine outcome=select.value().get() /> }}
            {(!p.folder_changes.is_empty()).then(|| view! {
                <h3 class="small-heading">"Folders"</h3>
                <ul class="folder-changes">
                    {p.folder_changes.iter().map(|f| view! {
                        <li data-kind=f.kind.clone()>{f.text.clone()}<span class="muted small">{format!(" · {}", f.observed)}</span></li>
                    }).collect_view()}
                </ul>
            })}
            {if p.rows.is_empty() {
                view! { <p class="empty-note">"No item changed like that between these two instants."</p> }.into_any()
            } else {
                view! {
                    <table class="admin-table change-table">
                        <thead>
                            <tr><th>"Change"</th><th>"Item"</th><th>"Where"</th><th>"Observed"</th></tr>
                        </thead>
                        <tbody>
                            {p.rows.iter().map(|r| {
                                let place = match (&r.from_folder, &r.to_folder) {
                                    (Some(a), Some(b)) if a != b => format!("{a} → {b}"),
                                    (Some(a), _) => a.clone(),
                                    (None, Some(b)) => b.clone(),
                                    (None, None) => String::new(),
                                };
                                let open = format!("/admin/mailbox?m={}&msg={}", p.mailbox_id, r.item_id);
                                view! {
                                    <tr data-kind=r.kind.clone()>
                                        <td><span class=format!("change-kind kind-{}", r.kind)>{r.kind_label.clone()}</span></td>
                                        <td>
                                            <a href=open>{r.subject.clone()}</a>
                                            <div class="muted small">{format!("{} · {}", r.sender, r.date)}</div>
                                        </td>
                                        <td class="small">{place}</td>
                                        <td class="small">{r.observed.clone()}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }}
            <nav class="pager">
                {prev.map(|href| view! { <a href=href>"← Previous"</a> })}
                <span class="muted">{format!("{} shown of {}", p.rows.len(), p.matching)}</span>
                {next.map(|href| view! { <a href=href>"Next →"</a> })}
            </nav>
        </section>
    }
}
