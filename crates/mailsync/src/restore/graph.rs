//! Restore through Microsoft Graph: mail folders by `childFolders`, calendars and contact
//! folders by their own collections, messages created from JSON with PR_MESSAGE_FLAGS (the
//! only way Graph makes a message that is not a draft), attachments added afterwards (an
//! upload session above 3 MB), events and contacts from the stored record.

use async_trait::async_trait;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use super::compose::{graph_file_attachment, ComposedAttachment};
use super::{
    graph_contact, graph_event, graph_item_attachment, graph_message, graph_stamp_id,
    FolderContents, MailboxWriter, RestoreItem, TargetFolder, WriteAccess,
};
use crate::context::MailboxCtx;
use crate::error::SourceError;
use crate::graph::{path_segment, GraphSource};
use crate::source::FolderKind;

/// Graph's default calendar and contacts folder, addressed by their own paths.
const DEFAULT: &str = "default";
/// Larger attachments need an upload session (Graph's limit for one request is 4 MB in all).
const SMALL_ATTACHMENT: usize = 3 * 1024 * 1024;
/// Upload-session chunks must be multiples of 320 KiB; ten of them stay under 4 MB.
const UPLOAD_CHUNK: usize = 10 * 320 * 1024;
const LIST_PAGE: u32 = 500;

/// Percent-encodes a query value (spaces, quotes and braces of OData filters included).
fn query_value(v: &str) -> String {
    path_segment(v)
}

fn odata_string(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

impl GraphSource {
    fn user(&self, mb: &MailboxCtx) -> String {
        format!(
            "{}/users/{}",
            self.client().config().graph_base,
            path_segment(&mb.address)
        )
    }

    async fn post(&self, mb: &MailboxCtx, url: &str, body: &Value) -> Result<Value, SourceError> {
        let bytes = self
            .client()
            .send_json(mb, Method::POST, url, Some(body))
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| SourceError::Protocol(format!("{url}: {e}")))
    }

    /// Where items of a folder are listed and created.
    fn items_url(&self, mb: &MailboxCtx, folder: &TargetFolder) -> String {
        let user = self.user(mb);
        let id = path_segment(&folder.id);
        match (folder.kind, folder.id.as_str()) {
            (FolderKind::Mail, _) => format!("{user}/mailFolders/{id}/messages"),
            (FolderKind::Calendar, DEFAULT) => format!("{user}/calendar/events"),
            (FolderKind::Calendar, _) => format!("{user}/calendars/{id}/events"),
            (FolderKind::Contacts, DEFAULT) => format!("{user}/contacts"),
            (FolderKind::Contacts, _) => format!("{user}/contactFolders/{id}/contacts"),
        }
    }

    /// Where the children of a folder are listed and created, and the name field they use.
    fn children_url(&self, mb: &MailboxCtx, parent: &TargetFolder) -> (String, &'static str) {
        let user = self.user(mb);
        let id = path_segment(&parent.id);
        match (parent.kind, parent.id.as_str()) {
            (FolderKind::Mail, _) => (
                format!("{user}/mailFolders/{id}/childFolders"),
                "displayName",
            ),
            // Calendars do not nest in Graph: every calendar is one of the mailbox's calendars.
            (FolderKind::Calendar, _) => (format!("{user}/calendars"), "name"),
            (FolderKind::Contacts, DEFAULT) => (format!("{user}/contactFolders"), "displayName"),
            (FolderKind::Contacts, _) => (
                format!("{user}/contactFolders/{id}/childFolders"),
                "displayName",
            ),
        }
    }

    /// The item created, if what followed its creation worked; otherwise it is deleted again,
    /// so the next run, which would skip it as restored, creates it whole.
    async fn whole_or_none(
        &self,
        mb: &MailboxCtx,
        collection: &str,
        id: &str,
        rest: Result<(), SourceError>,
    ) -> Result<String, SourceError> {
        match rest {
            Ok(()) => Ok(id.to_owned()),
            Err(e) => {
                let url = format!("{}/{collection}/{}", self.user(mb), path_segment(id));
                let _ = self
                    .client()
                    .send_json(mb, Method::DELETE, &url, None)
                    .await;
                Err(e)
            }
        }
    }

    /// A series' deleted and changed occurrences, found among its instances by their original
    /// start. Graph names instances only through that list.
    async fn write_occurrences(
        &self,
        mb: &MailboxCtx,
        master: &str,
        e: &pim::Event,
    ) -> Result<(), SourceError> {
        let series = super::series_changes(e);
        if series.is_empty() {
            return Ok(());
        }
        let zone = pim::zone_from_name(&e.time_zone).unwrap_or(pim::Zone::UTC);
        let originals: Vec<DateTime<Utc>> = series
            .deleted
            .iter()
            .map(|(_, d)| zone.to_utc(*d))
            .chain(
                series
                    .changed
                    .iter()
                    .map(|(_, x)| zone.to_utc(x.original_start)),
            )
            .collect();
        let (Some(first), Some(last)) = (originals.iter().min(), originals.iter().max()) else {
            return Ok(());
        };
        let window = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let list =
            format!(
            "{}/events/{}/instances?startDateTime={}&endDateTime={}&$select=id,originalStart,type",
            self.user(mb),
            path_segment(master),
            query_value(&window(*first - chrono::Duration::days(1))),
            query_value(&window(*last + chrono::Duration::days(1) + (e.end - e.start)))
        );
        let instances = self.client().list_all(mb, list, None).await?;
        let instance_at = |original: DateTime<Utc>| {
            instances.iter().find_map(|i| {
                let at = i
                    .get("originalStart")
                    .and_then(Value::as_str)
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())?;
                (at.with_timezone(&Utc) == original)
                    .then(|| i.get("id").and_then(Value::as_str))
                    .flatten()
            })
        };
        let missing = |original: chrono::NaiveDateTime| SourceError::Server {
            code: "ErrorItemNotFound".into(),
            message: format!("the series has no occurrence on {original} to change"),
        };
        for (_, d) in &series.deleted {
            let id = instance_at(zone.to_utc(*d)).ok_or_else(|| missing(*d))?;
            let url = format!("{}/events/{}", self.user(mb), path_segment(id));
            self.client()
                .send_json(mb, Method::DELETE, &url, None)
                .await?;
        }
        let source_zone = if e.source_time_zone.trim().is_empty() {
            "UTC".to_owned()
        } else {
            e.source_time_zone.trim().to_owned()
        };
        let local = |t: chrono::NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        for (_, x) in &series.changed {
            let id = instance_at(zone.to_utc(x.original_start))
                .ok_or_else(|| missing(x.original_start))?;
            let mut patch = json!({
                "start": {"dateTime": local(x.start), "timeZone": source_zone},
                "end": {"dateTime": local(x.end), "timeZone": source_zone},
            });
            if let Some(subject) = &x.subject {
                patch["subject"] = Value::String(subject.clone());
            }
            if let Some(location) = &x.location {
                patch["location"] = json!({"displayName": location});
            }
            let url = format!("{}/events/{}", self.user(mb), path_segment(id));
            self.client()
                .send_json(mb, Method::PATCH, &url, Some(&patch))
                .await?;
        }
        Ok(())
    }

    /// `PUT .../contacts/{id}/photo/$value` with the image bytes.
    async fn put_photo(
        &self,
        mb: &MailboxCtx,
        contact: &str,
        photo: &pim::Photo,
    ) -> Result<(), SourceError> {
        let data: String = photo.data.split_whitespace().collect();
        let bytes = STANDARD
            .decode(data.as_bytes())
            .map_err(|_| SourceError::Server {
                code: "UnreadablePhoto".into(),
                message: "the archived contact photo is not valid base64".into(),
            })?;
        let url = format!(
            "{}/contacts/{}/photo/$value",
            self.user(mb),
            path_segment(contact)
        );
        self.client()
            .put_bytes(mb, &url, &photo.content_type, &bytes)
            .await?;
        Ok(())
    }

    async fn add_attachment(
        &self,
        mb: &MailboxCtx,
        message_url: &str,
        a: &ComposedAttachment,
    ) -> Result<(), SourceError> {
        let item = (a.bytes.len() <= SMALL_ATTACHMENT)
            .then(|| graph_item_attachment(a))
            .flatten();
        if let Some(item) = item {
            self.post(mb, &format!("{message_url}/attachments"), &item)
                .await?;
            return Ok(());
        }
        if a.bytes.len() <= SMALL_ATTACHMENT {
            self.post(
                mb,
                &format!("{message_url}/attachments"),
                &graph_file_attachment(a),
            )
            .await?;
            return Ok(());
        }
        let mut item = json!({
            "attachmentType": "file",
            "name": a.name,
            "size": a.bytes.len(),
            "contentType": a.content_type,
            "isInline": a.is_inline,
        });
        if let Some(id) = &a.content_id {
            item["contentId"] = json!(id);
        }
        let session = self
            .post(
                mb,
                &format!("{message_url}/attachments/createUploadSession"),
                &json!({"AttachmentItem": item}),
            )
            .await?;
        let upload = session
            .get("uploadUrl")
            .and_then(Value::as_str)
            .ok_or_else(|| SourceError::Protocol("upload session without uploadUrl".into()))?
            .to_owned();
        let total = a.bytes.len() as u64;
        let mut start = 0usize;
        for chunk in a.bytes.chunks(UPLOAD_CHUNK) {
            self.client()
                .put_upload_chunk(mb, &upload, start as u64, total, chunk)
                .await?;
            start += chunk.len();
        }
        Ok(())
    }
}

/// The application permissions in an access token's `roles` claim. The token is a JWT; its
/// signature is Graph's business, the claims are what the app was granted.
pub fn token_roles(token: &str) -> Vec<String> {
    let Some(payload) = token.split('.').nth(1) else {
        return Vec::new();
    };
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')) else {
        return Vec::new();
    };
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("roles").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
        })
        .unwrap_or_default()
}

fn grant_hint(role: &str) -> String {
    format!(
        "The app lacks the application permission {role}: add it in the Microsoft Entra admin \
         center (App registrations, the app, API permissions, Microsoft Graph, Application \
         permissions) and grant admin consent."
    )
}

#[async_trait]
impl MailboxWriter for GraphSource {
    fn protocol(&self) -> &'static str {
        "graph"
    }

    async fn write_access(&self, mb: &MailboxCtx) -> Result<WriteAccess, SourceError> {
        let token = self.client().access_token().await?;
        let roles = token_roles(&token);
        let has = |r: &str| roles.iter().any(|x| x.eq_ignore_ascii_case(r));
        let mut access = WriteAccess {
            mail: has("Mail.ReadWrite"),
            calendar: has("Calendars.ReadWrite"),
            contacts: has("Contacts.ReadWrite"),
            missing: Vec::new(),
        };
        for (granted, role) in [
            (access.mail, "Mail.ReadWrite"),
            (access.calendar, "Calendars.ReadWrite"),
            (access.contacts, "Contacts.ReadWrite"),
        ] {
            if !granted {
                access.missing.push(grant_hint(role));
            }
        }
        // The permission is tenant-wide; an application access policy may still keep the app
        // out of this one mailbox.
        let probe = format!("{}/mailFolders/inbox?$select=id", self.user(mb));
        match self.client().get_json(mb, &probe, None).await {
            Ok(_) => {}
            Err(SourceError::AccessDenied(why)) => {
                access.mail = false;
                access.calendar = false;
                access.contacts = false;
                access.missing.push(format!(
                    "The app may not open {} ({why}): an application access policy or \
                     RBAC for Applications scope in Exchange Online leaves it out.",
                    mb.address
                ));
            }
            Err(e) => return Err(e),
        }
        Ok(access)
    }

    async fn top_folder(
        &self,
        _mb: &MailboxCtx,
        kind: FolderKind,
    ) -> Result<TargetFolder, SourceError> {
        let id = match kind {
            FolderKind::Mail => "msgfolderroot",
            FolderKind::Calendar | FolderKind::Contacts => DEFAULT,
        };
        Ok(TargetFolder {
            id: id.into(),
            kind,
        })
    }

    async fn child_folder(
        &self,
        mb: &MailboxCtx,
        parent: &TargetFolder,
        name: &str,
    ) -> Result<Option<TargetFolder>, SourceError> {
        let (url, field) = self.children_url(mb, parent);
        let wanted = name.trim();
        let filter = query_value(&format!("{field} eq {}", odata_string(wanted)));
        let first = format!("{url}?$filter={filter}&$top={LIST_PAGE}");
        let found = self.client().list_all(mb, first, None).await?;
        // Compared here too: the server's filter decides what comes back, not what matches.
        Ok(found
            .iter()
            .find(|f| {
                f.get(field)
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case(wanted))
            })
            .and_then(|f| f.get("id").and_then(Value::as_str))
            .map(|id| TargetFolder {
                id: id.to_owned(),
                kind: parent.kind,
            }))
    }

    async fn create_folders(
        &self,
        mb: &MailboxCtx,
        parent: &TargetFolder,
        names: &[String],
    ) -> Result<TargetFolder, SourceError> {
        let mut at = parent.clone();
        // Calendars are flat: a path becomes one calendar named after its last part.
        let names: Vec<String> = if parent.kind == FolderKind::Calendar {
            names.last().cloned().into_iter().collect()
        } else {
            names.to_vec()
        };
        for name in &names {
            let (url, field) = self.children_url(mb, &at);
            let created = self.post(mb, &url, &json!({ field: name.trim() })).await;
            at = match created {
                Ok(v) => TargetFolder {
                    id: v
                        .get("id")
                        .and_then(Value::as_str)
                        .ok_or_else(|| SourceError::Protocol("created folder without id".into()))?
                        .to_owned(),
                    kind: parent.kind,
                },
                // Made in the meantime (or by an earlier, interrupted run): use it.
                Err(SourceError::Server { code, .. }) if code == "ErrorFolderExists" => {
                    self.child_folder(mb, &at, name).await?.ok_or_else(|| {
                        SourceError::Protocol(format!(
                            "the server says {name} exists but does not list it"
                        ))
                    })?
                }
                Err(e) => return Err(e),
            };
        }
        Ok(at)
    }

    async fn contents(
        &self,
        mb: &MailboxCtx,
        folder: &TargetFolder,
    ) -> Result<FolderContents, SourceError> {
        let select = match folder.kind {
            FolderKind::Mail => "id,internetMessageId,isRead",
            FolderKind::Calendar => "id,iCalUId",
            FolderKind::Contacts => "id,displayName,emailAddresses",
        };
        let expand = query_value(&format!(
            "singleValueExtendedProperties($filter=id eq {})",
            odata_string(&graph_stamp_id())
        ));
        let first = format!(
            "{}?$select={select}&$expand={expand}&$top={LIST_PAGE}",
            self.items_url(mb, folder)
        );
        let mut out = FolderContents::default();
        let stamp_id = graph_stamp_id();
        for item in self.client().list_all(mb, first, None).await? {
            let Some(id) = item.get("id").and_then(Value::as_str) else {
                continue;
            };
            if let Some(u) = item.get("iCalUId").and_then(Value::as_str) {
                if !u.trim().is_empty() {
                    out.uids.insert(u.trim().to_owned(), id.to_owned());
                }
            }
            if let Some(read) = item.get("isRead").and_then(Value::as_bool) {
                out.read.insert(id.to_owned(), read);
            }
            if let Some(mid) = item.get("internetMessageId").and_then(Value::as_str) {
                if !mid.trim().is_empty() {
                    out.message_ids
                        .insert(super::normalise_message_id(mid), id.to_owned());
                }
            }
            if let Some(name) = item.get("displayName").and_then(Value::as_str) {
                let emails = item
                    .get("emailAddresses")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.get("address").and_then(Value::as_str));
                for key in super::person_keys(name, emails) {
                    out.people.insert(key, id.to_owned());
                }
            }
            let props = item
                .get("singleValueExtendedProperties")
                .and_then(Value::as_array);
            for p in props.into_iter().flatten() {
                let ours = p
                    .get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|i| i.eq_ignore_ascii_case(&stamp_id));
                if let (true, Some(v)) = (ours, p.get("value").and_then(Value::as_str)) {
                    out.stamps.insert(v.to_owned(), id.to_owned());
                }
            }
        }
        Ok(out)
    }

    async fn set_read(&self, mb: &MailboxCtx, id: &str, is_read: bool) -> Result<(), SourceError> {
        // Graph sends no read receipt for a PATCH of isRead.
        let url = format!("{}/messages/{}", self.user(mb), path_segment(id));
        self.client()
            .send_json(mb, Method::PATCH, &url, Some(&json!({ "isRead": is_read })))
            .await
            .map(|_| ())
    }

    async fn create(
        &self,
        mb: &MailboxCtx,
        folder: &TargetFolder,
        item: &RestoreItem,
    ) -> Result<String, SourceError> {
        let url = self.items_url(mb, folder);
        let id_of = |v: &Value| {
            v.get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| SourceError::Protocol("created item without id".into()))
        };
        match (item.kind, &item.record) {
            (FolderKind::Mail, _) => {
                let composed = graph_message(
                    &item.content,
                    &item.stamp,
                    item.is_read,
                    item.received_at,
                    item.sent_at,
                )
                .ok_or_else(|| SourceError::Server {
                    code: "UnreadableMime".into(),
                    message: "the archived message cannot be read as MIME".into(),
                })?;
                let created = self.post(mb, &url, &composed.message).await?;
                let id = id_of(&created)?;
                let message_url = format!("{}/messages/{}", self.user(mb), path_segment(&id));
                for a in &composed.attachments {
                    if let Err(e) = self.add_attachment(mb, &message_url, a).await {
                        // Half a message would be skipped as restored by the next run: take it
                        // away so that run creates it whole.
                        let _ = self
                            .client()
                            .send_json(mb, Method::DELETE, &message_url, None)
                            .await;
                        return Err(e);
                    }
                }
                Ok(id)
            }
            (FolderKind::Calendar, Some(pim::Record::Event(e))) => {
                let id = id_of(&self.post(mb, &url, &graph_event(e, &item.stamp)).await?)?;
                self.whole_or_none(mb, "events", &id, self.write_occurrences(mb, &id, e).await)
                    .await
            }
            (FolderKind::Contacts, Some(pim::Record::Contact(c))) => {
                let id = id_of(&self.post(mb, &url, &graph_contact(c, &item.stamp)).await?)?;
                let photo = match &c.photo {
                    Some(p) => self.put_photo(mb, &id, p).await,
                    None => Ok(()),
                };
                self.whole_or_none(mb, "contacts", &id, photo).await
            }
            _ => Err(SourceError::Server {
                code: "NoStoredProperties".into(),
                message: "the archive holds no properties for this item, so it cannot be \
                          created through Graph"
                    .into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_from_the_token_claims() {
        let payload = URL_SAFE_NO_PAD.encode(
            br#"{"aud":"https://graph.microsoft.com","roles":["Mail.ReadWrite","Contacts.Read"]}"#,
        );
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln");
        assert_eq!(token_roles(&token), vec!["Mail.ReadWrite", "Contacts.Read"]);
        assert!(token_roles("not-a-jwt").is_empty());
        assert!(token_roles("a.!!!.c").is_empty());
    }
}
