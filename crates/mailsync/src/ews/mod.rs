//! EWS connector (Exchange on-premises): SOAP over HTTPS with a service account that holds the
//! ApplicationImpersonation role. Every request names the mailbox in the ExchangeImpersonation
//! header and in X-AnchorMailbox (without the latter, Exchange may answer 500/503 or slowly).

pub mod parse;
mod properties;
mod source;

pub use source::EwsSource;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;

use crate::context::{Attempt, MailboxCtx};
use crate::error::SourceError;
use crate::xml::escape;
use parse::{
    Envelope, EwsAttachment, EwsFolder, EwsItem, FindFolderResult, HierarchySync, ItemsSync, Status,
};

const T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
const M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";

#[derive(Debug, Clone)]
pub struct EwsConfig {
    /// `https://mail.example.com/EWS/Exchange.asmx`
    pub endpoint: String,
    /// The service account (UPN or DOMAIN\user) for basic authentication.
    pub username: String,
    pub password: String,
    /// `RequestServerVersion`; Exchange2013_SP1 is understood by 2013, 2016 and 2019.
    pub server_version: String,
    /// Items per GetItem call. The docs recommend about 10: larger batches run into the
    /// per-request budget and get throttled.
    pub get_item_batch: usize,
    /// MaxChangesReturned per SyncFolderItems call (1..=512).
    pub max_changes: u32,
    pub timeout: Duration,
}

impl EwsConfig {
    pub fn new(endpoint: &str, username: &str, password: &str) -> EwsConfig {
        EwsConfig {
            endpoint: endpoint.to_string(),
            username: username.to_string(),
            password: password.to_string(),
            server_version: "Exchange2013_SP1".into(),
            get_item_batch: 10,
            max_changes: 512,
            timeout: Duration::from_secs(120),
        }
    }
}

/// Addresses a folder in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderRef {
    Distinguished(String),
    Id(String),
}

impl FolderRef {
    fn xml(&self) -> String {
        match self {
            FolderRef::Distinguished(name) => {
                format!("<t:DistinguishedFolderId Id=\"{}\"/>", escape(name))
            }
            FolderRef::Id(id) => format!("<t:FolderId Id=\"{}\"/>", escape(id)),
        }
    }
}

pub struct EwsClient {
    http: reqwest::Client,
    config: EwsConfig,
}

impl EwsClient {
    pub fn new(config: EwsConfig) -> Result<EwsClient, SourceError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| SourceError::Transport(e.to_string()))?;
        Ok(EwsClient { http, config })
    }

    pub fn config(&self) -> &EwsConfig {
        &self.config
    }

    fn envelope(&self, mailbox: &str, body: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:t=\"{T}\" xmlns:m=\"{M}\">\
<soap:Header><t:RequestServerVersion Version=\"{}\"/>\
<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>\
</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>",
            escape(&self.config.server_version),
            escape(mailbox)
        )
    }

    /// Sends one operation for the mailbox and returns its response element, retrying on
    /// ErrorServerBusy (after BackOffMilliseconds), 503 and other transient failures.
    pub async fn call(
        &self,
        mb: &MailboxCtx,
        body: &str,
    ) -> Result<crate::xml::Element, SourceError> {
        let envelope = self.envelope(&mb.address, body);
        let auth = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.config.username, self.config.password))
        );
        mb.run(|| async {
            let sent = self
                .http
                .post(&self.config.endpoint)
                .header("Content-Type", "text/xml; charset=utf-8")
                .header("Authorization", &auth)
                .header("X-AnchorMailbox", &mb.address)
                .body(envelope.clone())
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => return Attempt::Transient(e.to_string()),
            };
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED {
                return Attempt::Fail(SourceError::Auth(
                    "the EWS service account credentials were refused (HTTP 401)".into(),
                ));
            }
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => return Attempt::Transient(e.to_string()),
            };
            // Faults come with 500 from Exchange and 200 from some servers: parse regardless.
            match parse::parse_envelope(&bytes) {
                Ok(Envelope::Body { response, .. }) if status.is_success() => {
                    Attempt::Done(response)
                }
                Ok(Envelope::Body { .. }) => Attempt::Transient(format!("HTTP {status}")),
                Ok(Envelope::Fault(f)) => fault_attempt(f),
                Err(_) if status.is_server_error() => Attempt::Transient(format!("HTTP {status}")),
                Err(e) => Attempt::Fail(e),
            }
        })
        .await
    }

    pub async fn get_folder(
        &self,
        mb: &MailboxCtx,
        folder: &FolderRef,
    ) -> Result<EwsFolder, SourceError> {
        self.get_folders(mb, std::slice::from_ref(folder))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| SourceError::Protocol("GetFolder returned no message".into()))?
            .map_err(|s| s.to_error())
    }

    /// Several folders in one GetFolder call: one result per folder, in order. A folder
    /// the mailbox lacks is an error status of its own, not a failure of the call.
    pub async fn get_folders(
        &self,
        mb: &MailboxCtx,
        folders: &[FolderRef],
    ) -> Result<Vec<Result<EwsFolder, Status>>, SourceError> {
        let ids: String = folders.iter().map(FolderRef::xml).collect();
        let body = format!(
            "<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>\
<m:FolderIds>{ids}</m:FolderIds></m:GetFolder>"
        );
        let resp = self.call(mb, &body).await?;
        let results = parse::parse_get_folder(&resp)?;
        if results.len() != folders.len() {
            return Err(SourceError::Protocol(format!(
                "GetFolder answered {} messages for {} folders",
                results.len(),
                folders.len()
            )));
        }
        Ok(results)
    }

    /// The display name of the mailbox's owner (ResolveNames on its SMTP address). A name that
    /// resolves to several entries takes the one with exactly this address.
    pub async fn resolve_owner_name(&self, mb: &MailboxCtx) -> Result<Option<String>, SourceError> {
        let body = format!(
            "<m:ResolveNames ReturnFullContactData=\"false\" SearchScope=\"ActiveDirectory\">\
<m:UnresolvedEntry>smtp:{}</m:UnresolvedEntry></m:ResolveNames>",
            crate::xml::escape(&mb.address)
        );
        let resp = self.call(mb, &body).await?;
        parse::parse_resolve_names(&resp, &mb.address)
    }

    pub async fn find_folder(
        &self,
        mb: &MailboxCtx,
        parent: &FolderRef,
        deep: bool,
        offset: usize,
        max: usize,
    ) -> Result<FindFolderResult, SourceError> {
        let body = format!(
            "<m:FindFolder Traversal=\"{}\"><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>\
<m:IndexedPageFolderView MaxEntriesReturned=\"{max}\" Offset=\"{offset}\" BasePoint=\"Beginning\"/>\
<m:ParentFolderIds>{}</m:ParentFolderIds></m:FindFolder>",
            if deep { "Deep" } else { "Shallow" },
            parent.xml()
        );
        let resp = self.call(mb, &body).await?;
        parse::parse_find_folder(&resp)
    }

    pub async fn sync_folder_hierarchy(
        &self,
        mb: &MailboxCtx,
        root: &FolderRef,
        state: Option<&str>,
    ) -> Result<HierarchySync, SourceError> {
        let state_xml = state
            .map(|s| format!("<m:SyncState>{}</m:SyncState>", escape(s)))
            .unwrap_or_default();
        // AllProperties leaves out the hidden flag: it is an extended property.
        let body = format!(
            "<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape>\
<t:AdditionalProperties><t:ExtendedFieldURI PropertyTag=\"{}\" PropertyType=\"Boolean\"/></t:AdditionalProperties>\
</m:FolderShape><m:SyncFolderId>{}</m:SyncFolderId>{state_xml}</m:SyncFolderHierarchy>",
            parse::PID_TAG_ATTRIBUTE_HIDDEN,
            root.xml()
        );
        let resp = self.call(mb, &body).await?;
        parse::parse_sync_folder_hierarchy(&resp)
    }

    /// IdOnly plus IsRead and PidTagSearchKey: enough to decide what to fetch and to pair moves;
    /// read flags need no GetItem.
    pub async fn sync_folder_items(
        &self,
        mb: &MailboxCtx,
        folder: &FolderRef,
        state: Option<&str>,
    ) -> Result<ItemsSync, SourceError> {
        let state_xml = state
            .map(|s| format!("<m:SyncState>{}</m:SyncState>", escape(s)))
            .unwrap_or_default();
        let body = format!(
            "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>\
<t:AdditionalProperties><t:FieldURI FieldURI=\"message:IsRead\"/>\
<t:ExtendedFieldURI PropertyTag=\"0x300B\" PropertyType=\"Binary\"/></t:AdditionalProperties></m:ItemShape>\
<m:SyncFolderId>{}</m:SyncFolderId>{state_xml}<m:MaxChangesReturned>{}</m:MaxChangesReturned>\
<m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>",
            folder.xml(),
            self.config.max_changes.clamp(1, 512)
        );
        let resp = self.call(mb, &body).await?;
        parse::parse_sync_folder_items(&resp)
    }

    /// GetItem with MimeContent for several ids in one call; one result per id, in order.
    pub async fn get_items_mime(
        &self,
        mb: &MailboxCtx,
        ids: &[String],
    ) -> Result<Vec<Result<EwsItem, Status>>, SourceError> {
        self.get_items(
            mb,
            ids,
            "<t:IncludeMimeContent>true</t:IncludeMimeContent>\
<t:AdditionalProperties><t:FieldURI FieldURI=\"message:IsRead\"/></t:AdditionalProperties>",
        )
        .await
    }

    /// GetItem with every property and the MimeContent, for calendar items and contacts: the
    /// MIME of a calendar item leaves out its attendees, a contact's vCard cannot be restored.
    pub async fn get_items_full(
        &self,
        mb: &MailboxCtx,
        ids: &[String],
    ) -> Result<Vec<Result<EwsItem, Status>>, SourceError> {
        self.get_items_shaped(
            mb,
            ids,
            "AllProperties",
            "<t:IncludeMimeContent>true</t:IncludeMimeContent><t:BodyType>Best</t:BodyType>",
        )
        .await
    }

    /// GetItem of a series' changed occurrences by their ItemIds: each one's own properties
    /// (no MIME: the series' content already has them).
    pub async fn get_occurrences(
        &self,
        mb: &MailboxCtx,
        ids: &[String],
    ) -> Result<Vec<Result<EwsItem, Status>>, SourceError> {
        self.get_items_shaped(mb, ids, "AllProperties", "<t:BodyType>Best</t:BodyType>")
            .await
    }

    /// GetAttachment of several file attachments; one result per id, in order.
    pub async fn get_attachments(
        &self,
        mb: &MailboxCtx,
        ids: &[String],
    ) -> Result<Vec<Result<EwsAttachment, Status>>, SourceError> {
        let mut ids_xml = String::new();
        for id in ids {
            ids_xml.push_str(&format!("<t:AttachmentId Id=\"{}\"/>", escape(id)));
        }
        let body = format!(
            "<m:GetAttachment><m:AttachmentIds>{ids_xml}</m:AttachmentIds></m:GetAttachment>"
        );
        let resp = self.call(mb, &body).await?;
        parse::parse_get_attachment(&resp)
    }

    /// GetItem IdOnly: whether each id still resolves (ErrorItemNotFound once it moved away).
    pub async fn get_items_id_only(
        &self,
        mb: &MailboxCtx,
        ids: &[String],
    ) -> Result<Vec<Result<EwsItem, Status>>, SourceError> {
        self.get_items(mb, ids, "").await
    }

    /// One GetItem of `ids` with an IdOnly shape plus `shape_extra`.
    async fn get_items(
        &self,
        mb: &MailboxCtx,
        ids: &[String],
        shape_extra: &str,
    ) -> Result<Vec<Result<EwsItem, Status>>, SourceError> {
        self.get_items_shaped(mb, ids, "IdOnly", shape_extra).await
    }

    async fn get_items_shaped(
        &self,
        mb: &MailboxCtx,
        ids: &[String],
        base_shape: &str,
        shape_extra: &str,
    ) -> Result<Vec<Result<EwsItem, Status>>, SourceError> {
        let mut ids_xml = String::new();
        for id in ids {
            ids_xml.push_str(&format!("<t:ItemId Id=\"{}\"/>", escape(id)));
        }
        let body = format!(
            "<m:GetItem><m:ItemShape><t:BaseShape>{base_shape}</t:BaseShape>{shape_extra}</m:ItemShape>\
<m:ItemIds>{ids_xml}</m:ItemIds></m:GetItem>"
        );
        let resp = self.call(mb, &body).await?;
        parse::parse_get_item(&resp)
    }

    /// Restores one message from MIME into a folder: saved, never sent, and not a draft
    /// (PR_MESSAGE_FLAGS must be set in the same call; it cannot be changed afterwards).
    pub async fn create_item_mime(
        &self,
        mb: &MailboxCtx,
        folder: &FolderRef,
        mime: &[u8],
        is_read: bool,
    ) -> Result<String, SourceError> {
        let body = format!(
            "<m:CreateItem MessageDisposition=\"SaveOnly\"><m:SavedItemFolderId>{}</m:SavedItemFolderId>\
<m:Items><t:Message><t:MimeContent CharacterSet=\"UTF-8\">{}</t:MimeContent>\
<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"3591\" PropertyType=\"Integer\"/><t:Value>{}</t:Value></t:ExtendedProperty>\
</t:Message></m:Items></m:CreateItem>",
            folder.xml(),
            STANDARD.encode(mime),
            u8::from(is_read)
        );
        let resp = self.call(mb, &body).await?;
        parse::parse_create_item(&resp)?
            .into_iter()
            .next()
            .ok_or_else(|| SourceError::Protocol("CreateItem returned no message".into()))?
            .map_err(|s| s.to_error())
    }
}

fn fault_attempt<T>(f: parse::SoapFault) -> Attempt<T> {
    match f.code.as_str() {
        "ErrorServerBusy" => match f.backoff_ms {
            Some(ms) => Attempt::Throttled(Duration::from_millis(ms)),
            None => Attempt::Transient("ErrorServerBusy without BackOffMilliseconds".into()),
        },
        "ErrorInternalServerTransientError"
        | "ErrorTimeoutExpired"
        | "ErrorMailboxStoreUnavailable"
        | "ErrorConnectionFailed"
        | "ErrorExceededConnectionCount"
        | "ErrorTooManyObjectsOpened"
        | "ErrorMailboxMoveInProgress" => Attempt::Transient(f.code),
        "ErrorImpersonateUserDenied" | "ErrorImpersonationDenied" | "ErrorAccessDenied" => {
            Attempt::Fail(SourceError::AccessDenied(format!(
                "{}: {}",
                f.code, f.message
            )))
        }
        "ErrorNonExistentMailbox" => Attempt::Fail(SourceError::MailboxNotFound(format!(
            "{}: {}",
            f.code, f.message
        ))),
        _ => Attempt::Fail(SourceError::Server {
            code: f.code,
            message: f.message,
        }),
    }
}
