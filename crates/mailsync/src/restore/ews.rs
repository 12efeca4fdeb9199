//! Restore through EWS: FindFolder to walk the target tree, CreateFolderPath for what is
//! missing, FindItem for what a folder already holds, CreateItem to write.
//!
//! Messages go in as MIME with PR_MESSAGE_FLAGS set in the same call (it cannot be changed
//! afterwards: a MIME import is a draft otherwise), calendar items and contacts as typed items
//! from the stored record, because MIME drops a meeting's attendees and a vCard cannot be
//! imported at all. Calendar items are saved with `SendMeetingInvitations="SendToNone"`.

use std::fmt::Write as _;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};

use super::{
    FolderContents, MailboxWriter, RestoreItem, TargetFolder, WriteAccess, STAMP_GUID, STAMP_NAME,
};
use crate::context::MailboxCtx;
use crate::error::SourceError;
use crate::ews::parse::{response_messages, status};
use crate::ews::{EwsSource, FolderRef};
use crate::source::FolderKind;
use crate::xml::{escape, Element};

const T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
const M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
/// Items per FindItem page: well under EWSFindCountLimit (1000).
const FIND_PAGE: usize = 500;
/// PidLidEmail1EmailAddress, PidLidEmail2EmailAddress, PidLidEmail3EmailAddress (0x8083, 0x8093,
/// 0x80A3 in PSETID_Address).
const CONTACT_EMAIL_IDS: [u32; 3] = [32899, 32915, 32931];

fn stamp_uri() -> String {
    format!(
        "<t:ExtendedFieldURI PropertySetId=\"{STAMP_GUID}\" PropertyName=\"{STAMP_NAME}\" PropertyType=\"String\"/>"
    )
}

fn extended(uri: &str, value: &str) -> String {
    format!(
        "<t:ExtendedProperty>{uri}<t:Value>{}</t:Value></t:ExtendedProperty>",
        escape(value)
    )
}

fn tagged(tag: &str, kind: &str, value: &str) -> String {
    extended(
        &format!("<t:ExtendedFieldURI PropertyTag=\"{tag}\" PropertyType=\"{kind}\"/>"),
        value,
    )
}

fn xs_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn element_of(kind: FolderKind) -> &'static str {
    match kind {
        FolderKind::Mail => "Folder",
        FolderKind::Calendar => "CalendarFolder",
        FolderKind::Contacts => "ContactsFolder",
    }
}

fn first_error(response: &Element) -> Option<SourceError> {
    response_messages(response)
        .into_iter()
        .map(status)
        .find(|s| s.is_error())
        .map(|s| s.to_error())
}

#[async_trait]
impl MailboxWriter for EwsSource {
    fn protocol(&self) -> &'static str {
        "ews"
    }

    /// Impersonation is all EWS asks for: the ApplicationImpersonation role gives the service
    /// account full access to the mailboxes in its scope, for reading and writing alike.
    async fn write_access(&self, mb: &MailboxCtx) -> Result<WriteAccess, SourceError> {
        match self
            .client()
            .get_folder(mb, &FolderRef::Distinguished("msgfolderroot".into()))
            .await
        {
            Ok(_) => Ok(WriteAccess {
                mail: true,
                calendar: true,
                contacts: true,
                missing: Vec::new(),
            }),
            Err(SourceError::AccessDenied(why)) => Ok(WriteAccess {
                mail: false,
                calendar: false,
                contacts: false,
                missing: vec![format!(
                    "The service account may not impersonate {} ({why}). Grant it the \
                     ApplicationImpersonation role in the Exchange admin center (Permissions, \
                     admin roles) or with New-ManagementRoleAssignment, with a scope that \
                     includes this mailbox.",
                    mb.address
                )],
            }),
            Err(e) => Err(e),
        }
    }

    async fn top_folder(
        &self,
        mb: &MailboxCtx,
        kind: FolderKind,
    ) -> Result<TargetFolder, SourceError> {
        let name = match kind {
            FolderKind::Mail => "msgfolderroot",
            FolderKind::Calendar => "calendar",
            FolderKind::Contacts => "contacts",
        };
        let folder = self
            .client()
            .get_folder(mb, &FolderRef::Distinguished(name.into()))
            .await?;
        Ok(TargetFolder {
            id: folder.id,
            kind,
        })
    }

    async fn child_folder(
        &self,
        mb: &MailboxCtx,
        parent: &TargetFolder,
        name: &str,
    ) -> Result<Option<TargetFolder>, SourceError> {
        let wanted = name.trim().to_lowercase();
        let parent_ref = FolderRef::Id(parent.id.clone());
        let mut offset = 0;
        loop {
            let page = self
                .client()
                .find_folder(mb, &parent_ref, false, offset, FIND_PAGE)
                .await?;
            let n = page.folders.len();
            if let Some(f) = page.folders.into_iter().find(|f| {
                f.display_name
                    .as_deref()
                    .is_some_and(|d| d.trim().to_lowercase() == wanted)
            }) {
                return Ok(Some(TargetFolder {
                    id: f.id,
                    kind: parent.kind,
                }));
            }
            offset += n;
            if page.includes_last || n == 0 {
                return Ok(None);
            }
        }
    }

    async fn create_folders(
        &self,
        mb: &MailboxCtx,
        parent: &TargetFolder,
        names: &[String],
    ) -> Result<TargetFolder, SourceError> {
        if names.is_empty() {
            return Ok(parent.clone());
        }
        let element = element_of(parent.kind);
        let mut path = String::new();
        for name in names {
            let _ = write!(
                path,
                "<t:{element}><t:DisplayName>{}</t:DisplayName></t:{element}>",
                escape(name.trim())
            );
        }
        let body = format!(
            "<m:CreateFolderPath><m:ParentFolderId><t:FolderId Id=\"{}\"/></m:ParentFolderId>\
<m:RelativeFolderPath>{path}</m:RelativeFolderPath></m:CreateFolderPath>",
            escape(&parent.id)
        );
        let resp = self.client().call(mb, &body).await?;
        if let Some(e) = first_error(&resp) {
            return Err(e);
        }
        // One folder per path element, in order: the last one is where items go.
        let ids: Vec<String> = response_messages(&resp)
            .into_iter()
            .filter_map(|m| m.child(M, "Folders"))
            .flat_map(|f| f.children.iter())
            .filter_map(|f| f.child(T, "FolderId"))
            .filter_map(|id| id.attr("Id").map(|v| v.trim().to_owned()))
            .collect();
        let last = ids
            .into_iter()
            .next_back()
            .ok_or_else(|| SourceError::Protocol("CreateFolderPath returned no folder".into()))?;
        Ok(TargetFolder {
            id: last,
            kind: parent.kind,
        })
    }

    async fn contents(
        &self,
        mb: &MailboxCtx,
        folder: &TargetFolder,
    ) -> Result<FolderContents, SourceError> {
        let mut out = FolderContents::default();
        let mut offset = 0usize;
        // A calendar item that never left is known by its UID, a contact by its display name
        // and e-mail addresses (PidLidEmail1..3EmailAddress: FindItem cannot return
        // `contacts:EmailAddresses`).
        let uid = match folder.kind {
            FolderKind::Calendar => "<t:FieldURI FieldURI=\"calendar:UID\"/>".to_owned(),
            FolderKind::Contacts => {
                let mut fields = "<t:FieldURI FieldURI=\"contacts:DisplayName\"/>".to_owned();
                for id in CONTACT_EMAIL_IDS {
                    fields.push_str(&format!(
                        "<t:ExtendedFieldURI DistinguishedPropertySetId=\"Address\" PropertyId=\"{id}\" PropertyType=\"String\"/>"
                    ));
                }
                fields
            }
            // The read state, for a restore's merge of what is there.
            FolderKind::Mail => "<t:FieldURI FieldURI=\"message:IsRead\"/>".to_owned(),
        };
        loop {
            let body = format!(
                "<m:FindItem Traversal=\"Shallow\"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>\
<t:AdditionalProperties><t:FieldURI FieldURI=\"message:InternetMessageId\"/>{uid}{}</t:AdditionalProperties></m:ItemShape>\
<m:IndexedPageItemView MaxEntriesReturned=\"{FIND_PAGE}\" Offset=\"{offset}\" BasePoint=\"Beginning\"/>\
<m:ParentFolderIds><t:FolderId Id=\"{}\"/></m:ParentFolderIds></m:FindItem>",
                stamp_uri(),
                escape(&folder.id)
            );
            let resp = self.client().call(mb, &body).await?;
            if let Some(e) = first_error(&resp) {
                return Err(e);
            }
            let Some(root) = response_messages(&resp)
                .into_iter()
                .find_map(|m| m.child(M, "RootFolder"))
            else {
                return Err(SourceError::Protocol("FindItem without RootFolder".into()));
            };
            let items: Vec<&Element> = root
                .child(T, "Items")
                .map(|i| i.children.iter().collect())
                .unwrap_or_default();
            for item in &items {
                let Some(id) = item
                    .child(T, "ItemId")
                    .and_then(|i| i.attr("Id"))
                    .map(|v| v.trim().to_owned())
                else {
                    continue;
                };
                if let Some(u) = item.child(T, "UID") {
                    let u = u.text().trim();
                    if !u.is_empty() {
                        out.uids.insert(u.to_owned(), id.clone());
                    }
                }
                if let Some(read) = item.child(T, "IsRead") {
                    out.read
                        .insert(id.clone(), read.text().trim().eq_ignore_ascii_case("true"));
                }
                if let Some(mid) = item.child(T, "InternetMessageId") {
                    let mid = mid.text().trim();
                    if !mid.is_empty() {
                        out.message_ids
                            .insert(super::normalise_message_id(mid), id.clone());
                    }
                }
                let mut emails = Vec::new();
                for prop in item.children_named(T, "ExtendedProperty") {
                    let email = prop.child(T, "ExtendedFieldURI").is_some_and(|u| {
                        u.attr("DistinguishedPropertySetId") == Some("Address")
                            && u.attr("PropertyId")
                                .and_then(|i| i.trim().parse().ok())
                                .is_some_and(|i: u32| CONTACT_EMAIL_IDS.contains(&i))
                    });
                    if email {
                        if let Some(v) = prop.child(T, "Value") {
                            emails.push(v.text().trim().to_owned());
                        }
                        continue;
                    }
                    let ours = prop.child(T, "ExtendedFieldURI").is_some_and(|u| {
                        u.attr("PropertyName") == Some(STAMP_NAME)
                            && u.attr("PropertySetId").is_some_and(|g| {
                                g.trim_matches(['{', '}']).eq_ignore_ascii_case(STAMP_GUID)
                            })
                    });
                    if ours {
                        if let Some(v) = prop.child(T, "Value") {
                            out.stamps.insert(v.text().trim().to_owned(), id.clone());
                        }
                    }
                }
                if let Some(name) = item.child(T, "DisplayName") {
                    let keys = super::person_keys(name.text(), emails.iter().map(String::as_str));
                    for key in keys {
                        out.people.insert(key, id.clone());
                    }
                }
            }
            offset += items.len();
            let last = root.attr("IncludesLastItemInRange") != Some("false");
            if last || items.is_empty() {
                return Ok(out);
            }
        }
    }

    async fn set_read(&self, mb: &MailboxCtx, id: &str, is_read: bool) -> Result<(), SourceError> {
        // AlwaysOverwrite: the read state is all that changes, whatever the item's change key.
        let body = format!(
            "<m:UpdateItem MessageDisposition=\"SaveOnly\" ConflictResolution=\"AlwaysOverwrite\" SuppressReadReceipts=\"true\">\
<m:ItemChanges><t:ItemChange><t:ItemId Id=\"{}\"/><t:Updates><t:SetItemField><t:FieldURI FieldURI=\"message:IsRead\"/>\
<t:Message><t:IsRead>{is_read}</t:IsRead></t:Message></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>",
            escape(id)
        );
        let resp = self.client().call(mb, &body).await?;
        match first_error(&resp) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn create(
        &self,
        mb: &MailboxCtx,
        folder: &TargetFolder,
        item: &RestoreItem,
    ) -> Result<String, SourceError> {
        let (attributes, element) = match (item.kind, &item.record) {
            (FolderKind::Mail, _) => ("MessageDisposition=\"SaveOnly\"", message_xml(item)),
            (FolderKind::Calendar, Some(pim::Record::Event(e))) => (
                "SendMeetingInvitations=\"SendToNone\"",
                calendar_item_xml(e, &item.stamp),
            ),
            (FolderKind::Contacts, Some(pim::Record::Contact(c))) => {
                ("", contact_xml(c, &item.stamp))
            }
            _ => {
                return Err(SourceError::Server {
                    code: "NoStoredProperties".into(),
                    message: "the archive holds no properties for this item, so it cannot be \
                              created as a typed item"
                        .into(),
                })
            }
        };
        let body = format!(
            "<m:CreateItem {attributes}><m:SavedItemFolderId><t:FolderId Id=\"{}\"/></m:SavedItemFolderId>\
<m:Items>{element}</m:Items></m:CreateItem>",
            escape(&folder.id)
        );
        let resp = self.client().call(mb, &body).await?;
        let id = crate::ews::parse::parse_create_item(&resp)?
            .into_iter()
            .next()
            .ok_or_else(|| SourceError::Protocol("CreateItem returned no item".into()))?
            .map_err(|s| s.to_error())?;
        // What CreateItem cannot carry: a series' changed and deleted occurrences, a contact's
        // photo. Half an item would be skipped as restored by the next run, so it is taken
        // away again and the next run creates it whole.
        let rest = match &item.record {
            Some(pim::Record::Event(e)) => self.write_occurrences(mb, &id, e).await,
            Some(pim::Record::Contact(c)) => match &c.photo {
                Some(photo) => self.add_photo(mb, &id, photo).await,
                None => Ok(()),
            },
            None => Ok(()),
        };
        if let Err(e) = rest {
            let _ = self.delete(mb, &id).await;
            return Err(e);
        }
        Ok(id)
    }
}

impl EwsSource {
    /// Deletes first (which leaves room between the neighbours of a moved occurrence), then
    /// changes, each as one call, without a word to the attendees.
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
        let occurrence = |index: u32| {
            format!(
                "<t:OccurrenceItemId RecurringMasterId=\"{}\" InstanceIndex=\"{index}\"/>",
                escape(master)
            )
        };
        if !series.deleted.is_empty() {
            let ids: String = series.deleted.iter().map(|(i, _)| occurrence(*i)).collect();
            let body = format!(
                "<m:DeleteItem DeleteType=\"HardDelete\" SendMeetingCancellations=\"SendToNone\">\
<m:ItemIds>{ids}</m:ItemIds></m:DeleteItem>"
            );
            let resp = self.client().call(mb, &body).await?;
            if let Some(e) = first_error(&resp) {
                return Err(e);
            }
        }
        if !series.changed.is_empty() {
            let zone = pim::zone_from_name(&e.time_zone).unwrap_or(pim::Zone::UTC);
            let set = |field: &str, element: &str, value: &str| {
                format!(
                    "<t:SetItemField><t:FieldURI FieldURI=\"{field}\"/><t:CalendarItem><t:{element}>{}</t:{element}></t:CalendarItem></t:SetItemField>",
                    escape(value)
                )
            };
            let mut changes = String::new();
            for (index, x) in &series.changed {
                changes.push_str("<t:ItemChange>");
                changes.push_str(&occurrence(*index));
                changes.push_str("<t:Updates>");
                // CalendarItemType order: Subject (item:) comes before Start, End and Location.
                if let Some(subject) = &x.subject {
                    changes.push_str(&set("item:Subject", "Subject", subject));
                }
                changes.push_str(&set(
                    "calendar:Start",
                    "Start",
                    &xs_time(zone.to_utc(x.start)),
                ));
                changes.push_str(&set("calendar:End", "End", &xs_time(zone.to_utc(x.end))));
                if let Some(location) = &x.location {
                    changes.push_str(&set("calendar:Location", "Location", location));
                }
                changes.push_str("</t:Updates></t:ItemChange>");
            }
            let body = format!(
                "<m:UpdateItem ConflictResolution=\"AlwaysOverwrite\" SendMeetingInvitationsOrCancellations=\"SendToNone\">\
<m:ItemChanges>{changes}</m:ItemChanges></m:UpdateItem>"
            );
            let resp = self.client().call(mb, &body).await?;
            if let Some(e) = first_error(&resp) {
                return Err(e);
            }
        }
        Ok(())
    }

    /// The contact's photo as its picture attachment (`IsContactPhoto`).
    async fn add_photo(
        &self,
        mb: &MailboxCtx,
        contact: &str,
        photo: &pim::Photo,
    ) -> Result<(), SourceError> {
        let data: String = photo.data.split_whitespace().collect();
        let body = format!(
            "<m:CreateAttachment><m:ParentItemId Id=\"{}\"/><m:Attachments><t:FileAttachment>\
<t:Name>ContactPicture.jpg</t:Name><t:ContentType>{}</t:ContentType><t:IsContactPhoto>true</t:IsContactPhoto>\
<t:Content>{}</t:Content></t:FileAttachment></m:Attachments></m:CreateAttachment>",
            escape(contact),
            escape(&photo.content_type),
            escape(&data)
        );
        let resp = self.client().call(mb, &body).await?;
        match first_error(&resp) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Deletes an item this restore created, telling nobody.
    async fn delete(&self, mb: &MailboxCtx, id: &str) -> Result<(), SourceError> {
        let body = format!(
            "<m:DeleteItem DeleteType=\"HardDelete\" SendMeetingCancellations=\"SendToNone\">\
<m:ItemIds><t:ItemId Id=\"{}\"/></m:ItemIds></m:DeleteItem>",
            escape(id)
        );
        let resp = self.client().call(mb, &body).await?;
        match first_error(&resp) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// A message from MIME: ItemType puts MimeContent first and the extended properties after it.
fn message_xml(item: &RestoreItem) -> String {
    // Read (0x01) or not; never unsent (0x08), which is what makes a draft.
    let mut props = tagged("3591", "Integer", if item.is_read { "1" } else { "0" });
    if let Some(t) = item.received_at {
        props.push_str(&tagged("0x0E06", "SystemTime", &xs_time(t)));
    }
    if let Some(t) = item.sent_at.or(item.received_at) {
        props.push_str(&tagged("0x0039", "SystemTime", &xs_time(t)));
    }
    props.push_str(&extended(&stamp_uri(), &item.stamp));
    format!(
        "<t:Message><t:MimeContent CharacterSet=\"UTF-8\">{}</t:MimeContent>{props}</t:Message>",
        STANDARD.encode(&item.content)
    )
}

fn text_el(name: &str, value: &str) -> String {
    if value.trim().is_empty() {
        String::new()
    } else {
        format!("<t:{name}>{}</t:{name}>", escape(value))
    }
}

fn categories(list: &[String]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let inner: String = list
        .iter()
        .map(|c| format!("<t:String>{}</t:String>", escape(c)))
        .collect();
    format!("<t:Categories>{inner}</t:Categories>")
}

fn attendees(e: &pim::Event, kind: pim::AttendeeKind, element: &str) -> String {
    let inner: String = e
        .attendees
        .iter()
        .filter(|a| a.kind == kind)
        .map(|a| {
            format!(
                "<t:Attendee><t:Mailbox>{}{}</t:Mailbox></t:Attendee>",
                text_el("Name", &a.person.name),
                text_el("EmailAddress", &a.person.address)
            )
        })
        .collect();
    if inner.is_empty() {
        String::new()
    } else {
        format!("<t:{element}>{inner}</t:{element}>")
    }
}

fn days(list: &[pim::Day]) -> String {
    list.iter().map(|d| d.name()).collect::<Vec<_>>().join(" ")
}

fn week_index(i: pim::WeekIndex) -> &'static str {
    match i {
        pim::WeekIndex::First => "First",
        pim::WeekIndex::Second => "Second",
        pim::WeekIndex::Third => "Third",
        pim::WeekIndex::Fourth => "Fourth",
        pim::WeekIndex::Last => "Last",
    }
}

fn month_name(m: u32) -> &'static str {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    MONTHS
        .get(m.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("January")
}

/// The recurrence in the shapes EWS's `RecurrenceType` defines (pattern, then range).
fn recurrence_xml(r: &pim::Recurrence) -> String {
    use pim::Pattern;
    let interval = r.interval.max(1);
    let pattern = match &r.pattern {
        Pattern::Daily => {
            format!("<t:DailyRecurrence><t:Interval>{interval}</t:Interval></t:DailyRecurrence>")
        }
        Pattern::Weekly { days: d } => format!(
            "<t:WeeklyRecurrence><t:Interval>{interval}</t:Interval><t:DaysOfWeek>{}</t:DaysOfWeek>\
<t:FirstDayOfWeek>{}</t:FirstDayOfWeek></t:WeeklyRecurrence>",
            days(d),
            r.first_day_of_week.name()
        ),
        Pattern::AbsoluteMonthly { day_of_month } => format!(
            "<t:AbsoluteMonthlyRecurrence><t:Interval>{interval}</t:Interval><t:DayOfMonth>{day_of_month}</t:DayOfMonth></t:AbsoluteMonthlyRecurrence>"
        ),
        Pattern::RelativeMonthly { days: d, index } => format!(
            "<t:RelativeMonthlyRecurrence><t:Interval>{interval}</t:Interval><t:DaysOfWeek>{}</t:DaysOfWeek>\
<t:DayOfWeekIndex>{}</t:DayOfWeekIndex></t:RelativeMonthlyRecurrence>",
            days(d),
            week_index(*index)
        ),
        Pattern::AbsoluteYearly {
            month,
            day_of_month,
        } => format!(
            "<t:AbsoluteYearlyRecurrence><t:DayOfMonth>{day_of_month}</t:DayOfMonth><t:Month>{}</t:Month></t:AbsoluteYearlyRecurrence>",
            month_name(*month)
        ),
        Pattern::RelativeYearly {
            month,
            days: d,
            index,
        } => format!(
            "<t:RelativeYearlyRecurrence><t:DaysOfWeek>{}</t:DaysOfWeek><t:DayOfWeekIndex>{}</t:DayOfWeekIndex>\
<t:Month>{}</t:Month></t:RelativeYearlyRecurrence>",
            days(d),
            week_index(*index),
            month_name(*month)
        ),
    };
    let range = match &r.range {
        pim::Range::NoEnd { start } => {
            format!("<t:NoEndRecurrence><t:StartDate>{start}</t:StartDate></t:NoEndRecurrence>")
        }
        pim::Range::EndDate { start, end } => format!(
            "<t:EndDateRecurrence><t:StartDate>{start}</t:StartDate><t:EndDate>{end}</t:EndDate></t:EndDateRecurrence>"
        ),
        pim::Range::Numbered { start, count } => format!(
            "<t:NumberedRecurrence><t:StartDate>{start}</t:StartDate><t:NumberOfOccurrences>{count}</t:NumberOfOccurrences></t:NumberedRecurrence>"
        ),
    };
    format!("<t:Recurrence>{pattern}{range}</t:Recurrence>")
}

/// A typed calendar item, elements in `CalendarItemType` schema order (Exchange validates it).
pub(super) fn calendar_item_xml(e: &pim::Event, stamp: &str) -> String {
    let zone = pim::zone_from_name(&e.time_zone).unwrap_or(pim::Zone::UTC);
    let mut x = String::from("<t:CalendarItem>");
    x.push_str(&text_el("Subject", &e.subject));
    if !e.body.is_empty() {
        let _ = write!(
            x,
            "<t:Body BodyType=\"{}\">{}</t:Body>",
            if e.body_is_html { "HTML" } else { "Text" },
            escape(&e.body)
        );
    }
    x.push_str(&categories(&e.categories));
    match e.reminder_minutes {
        Some(m) => {
            let _ = write!(
                x,
                "<t:ReminderIsSet>true</t:ReminderIsSet><t:ReminderMinutesBeforeStart>{m}</t:ReminderMinutesBeforeStart>"
            );
        }
        None => x.push_str("<t:ReminderIsSet>false</t:ReminderIsSet>"),
    }
    x.push_str(&extended(&stamp_uri(), stamp));
    x.push_str(&text_el("UID", &e.uid));
    let _ = write!(
        x,
        "<t:Start>{}</t:Start><t:End>{}</t:End><t:IsAllDayEvent>{}</t:IsAllDayEvent>",
        xs_time(zone.to_utc(e.start)),
        xs_time(zone.to_utc(e.end)),
        e.all_day
    );
    if !e.show_as.is_empty() {
        x.push_str(&text_el("LegacyFreeBusyStatus", &e.show_as));
    }
    x.push_str(&text_el("Location", &e.location));
    x.push_str(&attendees(
        e,
        pim::AttendeeKind::Required,
        "RequiredAttendees",
    ));
    x.push_str(&attendees(
        e,
        pim::AttendeeKind::Optional,
        "OptionalAttendees",
    ));
    x.push_str(&attendees(e, pim::AttendeeKind::Resource, "Resources"));
    if let Some(r) = &e.recurrence {
        x.push_str(&recurrence_xml(r));
    }
    // The Windows zone name the source gave; EWS knows no IANA names.
    let windows = if e.source_time_zone.trim().is_empty() {
        "UTC"
    } else {
        e.source_time_zone.trim()
    };
    let _ = write!(
        x,
        "<t:StartTimeZone Id=\"{0}\"/><t:EndTimeZone Id=\"{0}\"/>",
        escape(windows)
    );
    x.push_str("</t:CalendarItem>");
    x
}

fn entry(key: &str, value: &str) -> String {
    format!("<t:Entry Key=\"{key}\">{}</t:Entry>", escape(value))
}

/// EWS has fixed phone slots; a stored label picks its slot, the rest fill what is free.
fn phone_key(label: &str) -> &'static str {
    let l = label.to_ascii_lowercase();
    if l.contains("mobile") || l.contains("cell") {
        "MobilePhone"
    } else if l.contains("home") {
        "HomePhone"
    } else if l.contains("fax") {
        "BusinessFax"
    } else if l.contains("assistant") {
        "AssistantPhone"
    } else if l.contains("pager") {
        "Pager"
    } else if l.contains("other") {
        "OtherTelephone"
    } else {
        "BusinessPhone"
    }
}

fn address_key(label: &str) -> &'static str {
    let l = label.to_ascii_lowercase();
    if l.contains("home") {
        "Home"
    } else if l.contains("other") {
        "Other"
    } else {
        "Business"
    }
}

/// A typed contact, elements in `ContactItemType` schema order.
pub(super) fn contact_xml(c: &pim::Contact, stamp: &str) -> String {
    let mut x = String::from("<t:Contact>");
    if !c.notes.is_empty() {
        let _ = write!(x, "<t:Body BodyType=\"Text\">{}</t:Body>", escape(&c.notes));
    }
    x.push_str(&categories(&c.categories));
    x.push_str(&extended(&stamp_uri(), stamp));
    x.push_str(&text_el("FileAs", &c.file_as));
    x.push_str(&text_el("DisplayName", &c.display_name));
    x.push_str(&text_el("GivenName", &c.given_name));
    x.push_str(&text_el("Initials", &c.initials));
    x.push_str(&text_el("MiddleName", &c.middle_name));
    x.push_str(&text_el("Nickname", &c.nickname));
    x.push_str(&text_el("CompanyName", &c.company));
    let emails: String = c
        .emails
        .iter()
        .take(3)
        .enumerate()
        .map(|(i, e)| {
            format!(
                "<t:Entry Key=\"EmailAddress{}\">{}</t:Entry>",
                i + 1,
                escape(&e.address)
            )
        })
        .collect();
    if !emails.is_empty() {
        let _ = write!(x, "<t:EmailAddresses>{emails}</t:EmailAddresses>");
    }
    let mut used_addresses = Vec::new();
    let mut addresses = String::new();
    for a in &c.addresses {
        let key = address_key(&a.label);
        if used_addresses.contains(&key) {
            continue;
        }
        used_addresses.push(key);
        let _ = write!(
            addresses,
            "<t:Entry Key=\"{key}\">{}{}{}{}{}</t:Entry>",
            text_el("Street", &a.street),
            text_el("City", &a.city),
            text_el("State", &a.state),
            text_el("CountryOrRegion", &a.country),
            text_el("PostalCode", &a.postal_code)
        );
    }
    if !addresses.is_empty() {
        let _ = write!(x, "<t:PhysicalAddresses>{addresses}</t:PhysicalAddresses>");
    }
    let mut used_phones: Vec<&str> = Vec::new();
    let mut phones = String::new();
    for p in &c.phones {
        let mut key = phone_key(&p.label);
        if used_phones.contains(&key) {
            // A second business number goes to the second business slot.
            key = match key {
                "BusinessPhone" => "BusinessPhone2",
                "HomePhone" => "HomePhone2",
                _ => "OtherTelephone",
            };
            if used_phones.contains(&key) {
                continue;
            }
        }
        used_phones.push(key);
        phones.push_str(&entry(key, &p.number));
    }
    if !phones.is_empty() {
        let _ = write!(x, "<t:PhoneNumbers>{phones}</t:PhoneNumbers>");
    }
    x.push_str(&text_el("AssistantName", &c.assistant));
    if let Some(b) = c.birthday {
        let _ = write!(x, "<t:Birthday>{b}T00:00:00Z</t:Birthday>");
    }
    x.push_str(&text_el("BusinessHomePage", &c.web_page));
    x.push_str(&text_el("Department", &c.department));
    x.push_str(&text_el("Generation", &c.suffix));
    x.push_str(&text_el("JobTitle", &c.job_title));
    x.push_str(&text_el("Manager", &c.manager));
    x.push_str(&text_el("OfficeLocation", &c.office));
    x.push_str(&text_el("Surname", &c.surname));
    x.push_str("</t:Contact>");
    x
}
