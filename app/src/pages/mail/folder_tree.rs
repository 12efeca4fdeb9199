//! The mailbox's folder tree, well-known folders first, with unread counts.

use leptos::prelude::*;

use crate::api::mail::{FolderView, Overview};
use crate::components::location::MailLocation;

#[component]
pub(crate) fn FolderTree(location: Memo<MailLocation>, overview: Overview) -> impl IntoView {
    let collapsed = RwSignal::new(std::collections::HashSet::<i64>::new());
    let Some(mailbox) = overview.mailbox.clone() else {
        return ().into_any();
    };
    let folders = overview.folders.clone();
    let default_folder = overview.default_folder;
    let mailbox_id = mailbox.id;

    // A folder is hidden when any of its ancestors is collapsed.
    let parents: std::collections::HashMap<i64, Option<i64>> =
        folders.iter().map(|f| (f.id, f.parent_id)).collect();
    let hidden = move |folder: &FolderView| {
        let mut parent = folder.parent_id;
        let closed = collapsed.get();
        while let Some(p) = parent {
            if closed.contains(&p) {
                return true;
            }
            parent = parents.get(&p).copied().flatten();
        }
        false
    };

    let several = overview.mailboxes.len() > 1;
    let switcher = several.then(|| {
        let options = overview.mailboxes.clone();
        view! {
            <nav class="mailbox-switcher" aria-label="Mailboxes">
                {options
                    .into_iter()
                    .map(|m| {
                        let href = location.get_untracked().in_mailbox(m.id).to_url();
                        let current = m.id == mailbox_id;
                        view! {
                            <a href=href class:current=current>
                                {m.display_name}
                            </a>
                        }
                    })
                    .collect_view()}
            </nav>
        }
    });

    view! {
        <nav class="folder-pane" aria-label="Folders">
            {switcher}
            {(!several)
                .then(|| {
                    view! {
                        <div class="mailbox-name" title=mailbox.name.clone()>
                            {mailbox.display_name.clone()}
                        </div>
                    }
                })}
            <ul class="folder-tree" role="tree">
                {folders
                    .into_iter()
                    .map(|folder| {
                        let id = folder.id;
                        let href = location.get_untracked().in_folder(mailbox_id, id).to_url();
                        let selected = move || {
                            let loc = location.get();
                            loc.query.is_none() && loc.folder.or(default_folder) == Some(id)
                        };
                        let is_hidden = {
                            let folder = folder.clone();
                            let hidden = hidden.clone();
                            move || hidden(&folder)
                        };
                        let is_open = move || !collapsed.get().contains(&id);
                        let toggle = move |_| {
                            collapsed
                                .update(|c| {
                                    if !c.remove(&id) {
                                        c.insert(id);
                                    }
                                })
                        };
                        let indent = format!("padding-left: {}rem", 0.5 + folder.depth as f32 * 1.0);
                        view! {
                            <li
                                role="treeitem"
                                class="folder"
                                class:selected=selected
                                class:hidden=is_hidden
                                style=indent
                                aria-expanded=move || {
                                    folder.has_children.then(|| is_open().to_string())
                                }
                            >
                                {folder
                                    .has_children
                                    .then(|| {
                                        view! {
                                            <button
                                                class="toggle"
                                                type="button"
                                                aria-label=move || {
                                                    if is_open() { "Collapse" } else { "Expand" }
                                                }
                                                on:click=toggle
                                            >
                                                {move || if is_open() { "▾" } else { "▸" }}
                                            </button>
                                        }
                                    })}
                                <a href=href class="folder-link">
                                    <span class="folder-name">{folder.name.clone()}</span>
                                    {(folder.unread > 0)
                                        .then(|| {
                                            view! {
                                                <span class="count unread" title="Unread">
                                                    {folder.unread}
                                                </span>
                                            }
                                        })}
                                    <span class="count total" title="Messages">
                                        {folder.total}
                                    </span>
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
    .into_any()
}
