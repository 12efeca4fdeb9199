//! Shared simulator state and the Rust API tests use to change mailboxes, inject faults and read
//! counters between syncs.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::mailbox::{self, FolderKind, ItemKind, ItemRef, Mailbox, MailboxError};
use crate::restore::{self, CreateFaultRule, RestoredItem};
use crate::tokens::TokenStore;
use crate::upload::UploadSession;
use crate::SimConfig;

/// How Graph requests get throttled (429 with Retry-After).
#[derive(Debug, Clone, PartialEq)]
pub enum ThrottleRule {
    /// Every Nth request counted against the budget is refused.
    EveryNth { n: u64, retry_after_secs: f64 },
    /// At most `requests` per mailbox in each `window`; Retry-After tells when the window ends.
    Budget { requests: u64, window: Duration },
}

/// A per-item answer on HTTP 200, as Exchange gives them for single items of a batch. EWS
/// answers in the item's GetItem response message; Graph in the item's `$value` (inside a
/// `$batch`, as that sub-request's status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemFault {
    /// EWS: `ErrorInternalServerError` wrapping `ErrorServerBusy` (InnerErrorResponseCode), with
    /// BackOffMilliseconds. Graph: 429 with Retry-After.
    ServerBusy { backoff_ms: u64 },
    /// EWS: `ErrorInternalServerError`. Graph: 500 (or 503 for `Unavailable`).
    InternalError,
    /// Graph: 503 ServiceUnavailable. EWS: `ErrorMailboxStoreUnavailable`.
    Unavailable,
    /// EWS: `ErrorMimeContentConversionFailed`. Graph: 500 with that code, as Exchange Online
    /// passes the store's conversion failure through.
    MimeConversionFailed,
    /// EWS: `ErrorItemNotFound`. Graph: 404 `ErrorItemNotFound`.
    NotFound,
    /// EWS: Exchange stops the batch here: this item and every later one of the same GetItem
    /// answer `ResponseClass="Warning"` with `ErrorBatchProcessingStopped`. Graph: 503.
    BatchStopped,
}

#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub latency: Duration,
    /// Every Nth EWS request (after authentication) gets an ErrorServerBusy fault.
    pub ews_busy_every: Option<u64>,
    pub ews_busy_backoff_ms: u64,
    pub graph_throttle: Option<ThrottleRule>,
    /// Answers for the next content fetches of an item, by (mailbox, item number); each fetch
    /// takes the front one, then the item is served normally again.
    pub item_faults: HashMap<(String, u64), VecDeque<ItemFault>>,
    /// The same for the follow-up requests an item's properties need, by the item's number:
    /// EWS GetItem of a series' changed occurrences, Graph a contact's photo.
    pub follow_up_faults: HashMap<(String, u64), VecDeque<ItemFault>>,
    /// EWS generates MimeContent from the stored properties on each GetItem; with this set the
    /// simulator, like Exchange, does not give the same bytes twice (a header differs).
    pub mime_varies: bool,
    /// Answers for creates (EWS CreateItem, Graph POST of an item) by subject text.
    pub create_faults: Vec<CreateFaultRule>,
}

/// Request counters. Endpoint keys look like `ews:SyncFolderItems`, `graph:messages.delta`,
/// `graph:$batch`, `token`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// HTTP requests received (a `$batch` is one).
    pub http_requests: u64,
    pub by_endpoint: BTreeMap<String, u64>,
    pub by_mailbox: BTreeMap<String, u64>,
    /// Graph requests counted against the per-mailbox budget: each `$batch` sub-request counts.
    pub graph_counted: u64,
    /// Graph requests (or sub-requests) answered with 429.
    pub throttled: u64,
    /// EWS requests answered with ErrorServerBusy.
    pub server_busy: u64,
    /// Items created through EWS CreateItem.
    pub created_items: u64,
    /// Items a restore operation created (EWS CreateItem, Graph POST), duplicates included.
    pub restored_items: u64,
    /// The same by path: "ews-mime", "ews-typed", "graph-json", "graph-mime".
    pub created_by_via: BTreeMap<String, u64>,
    /// Messages created as drafts (MSGFLAG_UNSENT set, or PR_MESSAGE_FLAGS not given).
    pub drafts_created: u64,
    /// Meeting invitations the server sent: one per attendee of each calendar item created
    /// with invitations (EWS SendMeetingInvitations other than SendToNone, every Graph event).
    pub invitations_sent: u64,
    /// Items created into a folder that already held one with the same stamp or (messages)
    /// the same Internet-Message-Id.
    pub duplicates_created: u64,
    /// Messages sent (EWS MessageDisposition SendOnly / SendAndSaveCopy).
    pub messages_sent: u64,
    /// Read receipts sent because a message that asked for one was marked read (EWS UpdateItem
    /// without `SuppressReadReceipts="true"`).
    pub read_receipts_sent: u64,
    /// Items changed in place (EWS UpdateItem, Graph PATCH of a message).
    pub items_updated: u64,
    /// Items or occurrences deleted (EWS DeleteItem, Graph DELETE of an event).
    pub items_deleted: u64,
    /// Meeting cancellations the server sent: one per attendee of each calendar item or
    /// occurrence deleted without `SendMeetingCancellations="SendToNone"`.
    pub cancellations_sent: u64,
    /// Contact photos set (EWS CreateAttachment with IsContactPhoto, Graph PUT photo).
    pub photos_set: u64,
    /// Folders created (EWS CreateFolder/CreateFolderPath, Graph POST of a folder or calendar).
    pub folders_created: u64,
    /// Attachments added to existing items (Graph POST attachments, completed upload sessions).
    pub attachments_added: u64,
    /// Graph upload sessions created.
    pub upload_sessions: u64,
    /// EWS requests whose X-AnchorMailbox was missing or did not match the impersonated mailbox.
    pub anchor_mismatches: u64,
    /// Per-item faults served (EWS response messages, Graph `$value` answers).
    pub item_faults: u64,
    /// Requests of a mailbox that arrived while a throttling answer sent to it earlier still
    /// asked to wait (after a short grace for requests already on the wire): a client that
    /// pauses the whole mailbox on throttling sends none.
    pub sent_during_backoff: u64,
    /// MimeContent renderings made while `mime_varies` was on.
    pub mime_renderings: u64,
    /// Most EWS requests seen in flight at once, per mailbox.
    pub max_in_flight: BTreeMap<String, u64>,
}

impl Counters {
    pub fn endpoint(&self, name: &str) -> u64 {
        self.by_endpoint.get(name).copied().unwrap_or(0)
    }
}

pub struct SimState {
    pub config: SimConfig,
    store: Mutex<BTreeMap<String, Mailbox>>,
    counters: Mutex<Counters>,
    faults: Mutex<Faults>,
    budget: Mutex<HashMap<String, (Instant, u64)>>,
    in_flight: Mutex<HashMap<String, u64>>,
    /// Per mailbox: when the last throttling answer went out and until when it asked to wait.
    backoff: Mutex<HashMap<String, (Instant, Instant)>>,
    pub tokens: TokenStore,
    /// Roles of the tokens issued from now on.
    graph_roles: Mutex<Vec<String>>,
    /// Graph attachment upload sessions by the opaque id in their URL.
    pub(crate) uploads: Mutex<HashMap<String, UploadSession>>,
}

/// Requests sent this soon after a throttling answer left were on their way before the client
/// could read it. The send time is estimated (processing time minus the simulated latency), and
/// on a loaded 2-core machine a request can wait tens of milliseconds to be processed: 10 ms
/// counted such requests as sent during the back-off (CI saw it). A client that ignores the
/// wait still sends well inside the rest of any window the tests use (150 ms and more).
const BACKOFF_GRACE: Duration = Duration::from_millis(40);
/// Timer granularity: a request sent this close to the end of a back-off waited it out.
const BACKOFF_TOLERANCE: Duration = Duration::from_millis(5);

/// Marks one request in flight for a mailbox until dropped.
pub struct InFlight<'a> {
    state: &'a SimState,
    mailbox: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut f = lock(&self.state.in_flight);
        if let Some(n) = f.get_mut(&self.mailbox) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Locks a mutex even if a panicking test thread poisoned it: the data is plain and still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SimState {
    pub fn new(config: SimConfig, mailboxes: Vec<Mailbox>) -> SimState {
        let tokens = TokenStore::new(config.token_lifetime);
        let graph_roles = Mutex::new(config.graph_roles.clone());
        SimState {
            graph_roles,
            uploads: Mutex::new(HashMap::new()),
            config,
            store: Mutex::new(
                mailboxes
                    .into_iter()
                    .map(|m| (m.address.clone(), m))
                    .collect(),
            ),
            counters: Mutex::new(Counters::default()),
            faults: Mutex::new(Faults::default()),
            budget: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            backoff: Mutex::new(HashMap::new()),
            tokens,
        }
    }

    pub fn enter(&self, mailbox: &str) -> InFlight<'_> {
        let key = mailbox.to_ascii_lowercase();
        let now = {
            let mut f = lock(&self.in_flight);
            let n = f.entry(key.clone()).or_default();
            *n += 1;
            *n
        };
        let mut c = lock(&self.counters);
        let max = c.max_in_flight.entry(key.clone()).or_default();
        *max = (*max).max(now);
        InFlight {
            state: self,
            mailbox: key,
        }
    }

    pub fn store(&self) -> MutexGuard<'_, BTreeMap<String, Mailbox>> {
        lock(&self.store)
    }

    pub fn faults(&self) -> Faults {
        lock(&self.faults).clone()
    }

    pub fn graph_roles(&self) -> Vec<String> {
        lock(&self.graph_roles).clone()
    }

    /// The fault for a create whose subject is `subject`, if a rule asks for one (and counts
    /// it). Each rule answers `times` creates, then is gone.
    pub fn take_create_fault(&self, mailbox: &str, subject: &str) -> Option<ItemFault> {
        let mut f = lock(&self.faults);
        let pos = f.create_faults.iter().position(|r| {
            r.remaining > 0
                && r.mailbox.eq_ignore_ascii_case(mailbox)
                && subject.contains(&r.subject_contains)
        })?;
        let rule = f.create_faults.get_mut(pos)?;
        rule.remaining -= 1;
        let fault = rule.fault;
        if rule.remaining == 0 {
            f.create_faults.remove(pos);
        }
        drop(f);
        self.bump(|c| c.item_faults += 1);
        Some(fault)
    }

    pub fn count(&self, endpoint: &str, mailbox: Option<&str>) {
        let mut c = lock(&self.counters);
        c.http_requests += 1;
        *c.by_endpoint.entry(endpoint.to_string()).or_default() += 1;
        if let Some(m) = mailbox {
            *c.by_mailbox.entry(m.to_ascii_lowercase()).or_default() += 1;
        }
    }

    /// Counts a `$batch` sub-request: not an HTTP request of its own, but attributable to a
    /// mailbox and an endpoint (key prefixed with `batch:`).
    pub fn count_sub(&self, endpoint: &str, mailbox: &str) {
        let mut c = lock(&self.counters);
        *c.by_endpoint
            .entry(format!("batch:{endpoint}"))
            .or_default() += 1;
        *c.by_mailbox
            .entry(mailbox.to_ascii_lowercase())
            .or_default() += 1;
    }

    pub fn bump(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut lock(&self.counters));
    }

    /// The MIME EWS hands out for stored content: the same bytes, or (with `mime_varies`) a
    /// fresh rendering that differs from the last one in a header.
    pub fn render_mime(&self, data: &[u8]) -> Vec<u8> {
        if !self.faults().mime_varies {
            return data.to_vec();
        }
        let n = {
            let mut c = lock(&self.counters);
            c.mime_renderings += 1;
            c.mime_renderings
        };
        let mut out = format!("X-MS-Exchange-Rendering: {n}\r\n").into_bytes();
        out.extend_from_slice(data);
        out
    }

    /// A throttling answer asking the mailbox to wait `wait` is going out now.
    pub fn throttle_window(&self, mailbox: &str, wait: Duration) {
        let now = Instant::now();
        lock(&self.backoff).insert(mailbox.to_ascii_lowercase(), (now, now + wait));
    }

    /// Notes a request of the mailbox being processed; counts it if it was sent while a
    /// back-off asked the mailbox to wait. Requests are processed after the simulated latency,
    /// so the send time is the processing time minus that latency.
    pub fn arrival(&self, mailbox: &str) {
        let Some(sent_at) = Instant::now().checked_sub(self.faults().latency) else {
            return;
        };
        let inside = lock(&self.backoff)
            .get(&mailbox.to_ascii_lowercase())
            .is_some_and(|(answered, until)| {
                sent_at > *answered + BACKOFF_GRACE && sent_at + BACKOFF_TOLERANCE < *until
            });
        if inside {
            self.bump(|c| c.sent_during_backoff += 1);
        }
    }

    /// The fault to answer this fetch of the item with, if one is queued (and counts it).
    pub fn take_item_fault(&self, mailbox: &str, n: u64) -> Option<ItemFault> {
        self.take_fault(mailbox, n, |f| &mut f.item_faults)
    }

    pub fn take_follow_up_fault(&self, mailbox: &str, item: u64) -> Option<ItemFault> {
        self.take_fault(mailbox, item, |f| &mut f.follow_up_faults)
    }

    fn take_fault(
        &self,
        mailbox: &str,
        n: u64,
        queues: impl FnOnce(&mut Faults) -> &mut HashMap<(String, u64), VecDeque<ItemFault>>,
    ) -> Option<ItemFault> {
        let mut f = lock(&self.faults);
        let queues = queues(&mut f);
        let key = (mailbox.to_ascii_lowercase(), n);
        let queue = queues.get_mut(&key)?;
        let fault = queue.pop_front();
        if queue.is_empty() {
            queues.remove(&key);
        }
        drop(f);
        if fault.is_some() {
            self.bump(|c| c.item_faults += 1);
        }
        fault
    }

    /// Decides whether the next EWS request is refused as busy; returns the back-off to send.
    pub fn ews_busy(&self) -> Option<u64> {
        let faults = self.faults();
        let every = faults.ews_busy_every?;
        let mut c = lock(&self.counters);
        let seen = c.endpoint("ews:*");
        *c.by_endpoint.entry("ews:*".into()).or_default() += 1;
        if every > 0 && (seen + 1).is_multiple_of(every) {
            c.server_busy += 1;
            Some(faults.ews_busy_backoff_ms)
        } else {
            None
        }
    }

    /// Counts one Graph request against the mailbox budget; `Some(retry_after_secs)` if it is
    /// throttled.
    pub fn graph_admit(&self, mailbox: &str) -> Option<f64> {
        let rule = self.faults().graph_throttle;
        let counted = {
            let mut c = lock(&self.counters);
            c.graph_counted += 1;
            c.graph_counted
        };
        let verdict = match rule {
            None => None,
            Some(ThrottleRule::EveryNth {
                n,
                retry_after_secs,
            }) => (n > 0 && counted.is_multiple_of(n)).then_some(retry_after_secs),
            Some(ThrottleRule::Budget { requests, window }) => {
                let mut b = lock(&self.budget);
                let now = Instant::now();
                let entry = b.entry(mailbox.to_ascii_lowercase()).or_insert((now, 0));
                if now.duration_since(entry.0) >= window {
                    *entry = (now, 0);
                }
                if entry.1 >= requests {
                    let left = window.saturating_sub(now.duration_since(entry.0));
                    Some(left.as_secs_f64().max(0.001))
                } else {
                    entry.1 += 1;
                    None
                }
            }
        };
        if verdict.is_some() {
            self.bump(|c| c.throttled += 1);
        }
        verdict
    }
}

// ---- opaque sync states / delta tokens -----------------------------------------------------

/// What a sync state or delta token stands for. `scope` names the folder (or the calendar
/// window) so a state used against another folder is refused, as Exchange does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncToken {
    pub kind: String,
    pub scope: String,
    pub seq: u64,
    pub epoch: u32,
    /// Entries already sent of the change after `seq`, when a page ended inside it (a Graph
    /// series' instances run over pages).
    pub skip: usize,
}

impl SyncToken {
    /// EWS-style: standard base64, with the gzip magic real states start with.
    pub fn to_ews(&self) -> String {
        format!("H4sI{}", STANDARD.encode(self.raw()))
    }

    /// Graph-style: URL-safe, to sit in a `$deltatoken`/`$skiptoken` query parameter.
    pub fn to_url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.raw())
    }

    fn raw(&self) -> String {
        let position = if self.skip > 0 {
            format!("{}+{}", self.seq, self.skip)
        } else {
            self.seq.to_string()
        };
        format!("{}|{}|{position}|{}", self.kind, self.scope, self.epoch)
    }

    pub fn parse(s: &str) -> Option<SyncToken> {
        let s = s.trim();
        let bytes = match s.strip_prefix("H4sI") {
            Some(b) => STANDARD.decode(b).ok()?,
            None => URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()?,
        };
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.rsplitn(3, '|');
        let epoch = parts.next()?.parse().ok()?;
        let position = parts.next()?;
        let (seq, skip) = match position.split_once('+') {
            Some((seq, skip)) => (seq.parse().ok()?, skip.parse().ok()?),
            None => (position.parse().ok()?, 0),
        };
        let (kind, scope) = parts.next()?.split_once('|')?;
        Some(SyncToken {
            kind: kind.to_string(),
            scope: scope.to_string(),
            seq,
            epoch,
            skip,
        })
    }

    /// Validates a client-supplied state for `kind`/`scope` against the mailbox.
    pub fn check(s: &str, kind: &str, scope: &str, mb: &Mailbox) -> Option<u64> {
        SyncToken::position(s, kind, scope, mb).map(|(seq, _)| seq)
    }

    /// [`SyncToken::check`] with the entries already sent of the next change.
    pub fn position(s: &str, kind: &str, scope: &str, mb: &Mailbox) -> Option<(u64, usize)> {
        let t = SyncToken::parse(s)?;
        (t.kind == kind && t.scope == scope && t.epoch == mb.epoch && t.seq <= mb.seq)
            .then_some((t.seq, t.skip))
    }
}

// ---- the handle tests use ----------------------------------------------------------------

/// Protocol ids of one item as each API shows it right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemIds {
    pub ews: String,
    pub graph_rest: String,
    pub graph_immutable: String,
}

/// Changes mailboxes, injects faults and reads counters on a running simulator. Cheap to clone.
#[derive(Clone)]
pub struct SimHandle {
    pub(crate) state: Arc<SimState>,
}

impl SimHandle {
    fn with_mailbox<T>(
        &self,
        address: &str,
        f: impl FnOnce(&mut Mailbox) -> Result<T, MailboxError>,
    ) -> Result<T, MailboxError> {
        let mut store = self.state.store();
        let mb = store
            .get_mut(&address.to_ascii_lowercase())
            .ok_or_else(|| MailboxError::NoMailbox(address.to_string()))?;
        f(mb)
    }

    pub fn mailboxes(&self) -> Vec<String> {
        self.state.store().keys().cloned().collect()
    }

    /// Adds an empty mailbox with the standard folders.
    pub fn add_mailbox(&self, address: &str, display_name: &str) -> u32 {
        let mut store = self.state.store();
        let index = store.values().map(|m| m.index).max().unwrap_or(0) + 1;
        let mb = Mailbox::new(address, index, display_name);
        store.insert(mb.address.clone(), mb);
        index
    }

    /// Adds an empty mailbox whose standard folders carry names in the mailbox's language:
    /// `names` pairs a well-known name ("inbox", "sentitems", "calendar", ...) with its localised
    /// display name ("Posteingang"). "junkemail", "outbox" and "archive" are created as well.
    pub fn add_mailbox_localised(
        &self,
        address: &str,
        display_name: &str,
        names: &[(&str, &str)],
    ) -> Result<u32, MailboxError> {
        let index = self.add_mailbox(address, display_name);
        self.with_mailbox(address, |mb| {
            for (well_known, name) in names {
                let id = match mb.well_known(well_known) {
                    Some(f) => f.id.clone(),
                    None => mb.add_well_known_folder(well_known, name)?,
                };
                if let Some(f) = mb.folders.get_mut(&id) {
                    f.name = (*name).to_string();
                }
            }
            Ok(index)
        })
    }

    /// Adds a folder with its own folder class and hidden flag under `parent` (a folder id,
    /// well-known name or path): the system folders Exchange and Outlook create.
    pub fn add_system_folder(
        &self,
        address: &str,
        parent: &str,
        name: &str,
        kind: FolderKind,
        folder_class: &str,
        hidden: bool,
    ) -> Result<String, MailboxError> {
        self.with_mailbox(address, |mb| {
            mb.add_system_folder(parent, name, kind, folder_class, hidden)
        })
    }

    /// Sets or clears a folder's hidden flag (PidTagAttributeHidden / Graph `isHidden`).
    pub fn set_folder_hidden(
        &self,
        address: &str,
        folder: &str,
        hidden: bool,
    ) -> Result<(), MailboxError> {
        self.with_mailbox(address, |mb| mb.set_hidden(folder, hidden))
    }

    /// Adds a mailbox holding `messages` synthetic messages spread over Inbox, Sent Items and
    /// an "Archive/2025" folder (half, a quarter, a quarter).
    pub fn add_synthetic_mailbox(&self, address: &str, messages: u64) -> Result<(), MailboxError> {
        self.add_mailbox(address, address);
        self.with_mailbox(address, |mb| {
            mb.add_folder("msgfolderroot", "Archive", FolderKind::Mail)?;
            mb.add_folder("Archive", "2025", FolderKind::Mail)?;
            for n in 0..messages {
                let folder = match n % 4 {
                    0 | 1 => "inbox",
                    2 => "sentitems",
                    _ => "Archive/2025",
                };
                let data = mailbox::synthetic_message(address, n);
                mb.add_item(folder, ItemKind::Message, data, n % 3 == 0)?;
            }
            Ok(())
        })
    }

    pub fn add_message(
        &self,
        address: &str,
        folder: &str,
        mime: &[u8],
        is_read: bool,
    ) -> Result<ItemRef, MailboxError> {
        self.with_mailbox(address, |mb| {
            mb.add_item(folder, ItemKind::Message, mime.to_vec(), is_read)
        })
    }

    pub fn add_calendar_item(&self, address: &str, ics: &[u8]) -> Result<ItemRef, MailboxError> {
        self.with_mailbox(address, |mb| {
            mb.add_item("calendar", ItemKind::CalendarItem, ics.to_vec(), true)
        })
    }

    pub fn add_contact(&self, address: &str, vcf: &[u8]) -> Result<ItemRef, MailboxError> {
        self.with_mailbox(address, |mb| {
            mb.add_item("contacts", ItemKind::Contact, vcf.to_vec(), true)
        })
    }

    pub fn move_item(&self, address: &str, item: ItemRef, dest: &str) -> Result<(), MailboxError> {
        self.with_mailbox(address, |mb| mb.move_item(item.n, dest))
    }

    pub fn delete_item(&self, address: &str, item: ItemRef) -> Result<(), MailboxError> {
        self.with_mailbox(address, |mb| mb.delete_item(item.n))
    }

    /// An item's stored content (MIME, iCalendar or vCard).
    pub fn item_data(&self, address: &str, item: ItemRef) -> Result<Vec<u8>, MailboxError> {
        self.with_mailbox(address, |mb| {
            Ok(mb
                .items
                .get(&item.n)
                .ok_or(MailboxError::NoItem)?
                .data
                .clone())
        })
    }

    /// Deletes the occurrence at 1-based `index` of a series, as a person would in Outlook.
    pub fn delete_occurrence(
        &self,
        address: &str,
        item: ItemRef,
        index: usize,
    ) -> Result<(), MailboxError> {
        self.rewrite_series(address, item, |ics| crate::occurrences::delete(ics, index))
    }

    /// Moves the occurrence at 1-based `index` of a series to `start`..`end` (xs:dateTime).
    pub fn move_occurrence(
        &self,
        address: &str,
        item: ItemRef,
        index: usize,
        start: &str,
        end: &str,
    ) -> Result<(), MailboxError> {
        let change = crate::occurrences::OccurrenceChange {
            start: crate::dates::parse_xs(start),
            end: crate::dates::parse_xs(end),
            ..Default::default()
        };
        self.rewrite_series(address, item, |ics| {
            crate::occurrences::modify(ics, index, &change)
        })
    }

    /// A series' content rewritten (a change a sync reports as an update).
    fn rewrite_series<E>(
        &self,
        address: &str,
        item: ItemRef,
        rewrite: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
    ) -> Result<(), MailboxError> {
        self.with_mailbox(address, |mb| {
            let data = mb.items.get(&item.n).ok_or(MailboxError::NoItem)?;
            let data = rewrite(&data.data).map_err(|_| MailboxError::NoItem)?;
            mb.replace_data(item.n, data)
        })
    }

    pub fn set_read(
        &self,
        address: &str,
        item: ItemRef,
        is_read: bool,
    ) -> Result<(), MailboxError> {
        self.with_mailbox(address, |mb| mb.set_read(item.n, is_read))
    }

    pub fn is_read(&self, address: &str, item: ItemRef) -> Result<bool, MailboxError> {
        self.with_mailbox(address, |mb| {
            mb.items
                .get(&item.n)
                .map(|i| i.is_read)
                .ok_or(MailboxError::NoItem)
        })
    }

    /// Adds a mail folder under `parent` (a folder id, well-known name or path like "Inbox").
    pub fn add_folder(
        &self,
        address: &str,
        parent: &str,
        name: &str,
    ) -> Result<String, MailboxError> {
        self.with_mailbox(address, |mb| mb.add_folder(parent, name, FolderKind::Mail))
    }

    pub fn rename_folder(
        &self,
        address: &str,
        folder: &str,
        name: &str,
    ) -> Result<(), MailboxError> {
        self.with_mailbox(address, |mb| mb.rename_folder(folder, name))
    }

    /// Removes a folder with its subfolders and items.
    pub fn remove_folder(&self, address: &str, folder: &str) -> Result<(), MailboxError> {
        self.with_mailbox(address, |mb| mb.remove_folder(folder))
    }

    /// The items of a folder (id, well-known name or path), oldest first.
    pub fn list_items(&self, address: &str, folder: &str) -> Result<Vec<ItemRef>, MailboxError> {
        self.with_mailbox(address, |mb| {
            let id = mb
                .resolve_folder(folder)
                .ok_or_else(|| MailboxError::NoFolder(folder.to_string()))?
                .id
                .clone();
            Ok(mb
                .items_in(&id)
                .map(|i| ItemRef {
                    mailbox_index: mb.index,
                    n: i.n,
                })
                .collect())
        })
    }

    pub fn folder_id(&self, address: &str, folder: &str) -> Result<String, MailboxError> {
        self.with_mailbox(address, |mb| {
            mb.resolve_folder(folder)
                .map(|f| f.id.clone())
                .ok_or_else(|| MailboxError::NoFolder(folder.to_string()))
        })
    }

    pub fn item_ids(&self, address: &str, item: ItemRef) -> Result<ItemIds, MailboxError> {
        self.with_mailbox(address, |mb| {
            let it = mb.items.get(&item.n).ok_or(MailboxError::NoItem)?;
            Ok(ItemIds {
                ews: mailbox::ews_item_id(mb.index, it.n, it.move_gen),
                graph_rest: mailbox::rest_item_id(mb.index, it.n, it.move_gen),
                graph_immutable: mailbox::immutable_item_id(mb.index, it.n),
            })
        })
    }

    /// Number of items of each kind in the mailbox: (messages, calendar items, contacts).
    pub fn item_counts(&self, address: &str) -> Result<(usize, usize, usize), MailboxError> {
        self.with_mailbox(address, |mb| {
            let count = |k| mb.items.values().filter(|i| i.kind == k).count();
            Ok((
                count(ItemKind::Message),
                count(ItemKind::CalendarItem),
                count(ItemKind::Contact),
            ))
        })
    }

    /// Grants or revokes the service account's impersonation right (EWS) and the app's access
    /// (Graph) for one mailbox.
    pub fn set_access_granted(&self, address: &str, granted: bool) -> Result<(), MailboxError> {
        self.with_mailbox(address, |mb| {
            mb.access_granted = granted;
            Ok(())
        })
    }

    /// Forgets every sync state and delta token issued so far (for one mailbox, or all):
    /// EWS answers ErrorInvalidSyncStateData and Graph 410 Gone on their next use.
    pub fn invalidate_sync_states(&self, address: Option<&str>) {
        let mut store = self.state.store();
        for mb in store.values_mut() {
            if address.is_none_or(|a| a.eq_ignore_ascii_case(&mb.address)) {
                mb.epoch += 1;
            }
        }
    }

    /// Makes every access token issued so far expire now.
    pub fn expire_tokens(&self) {
        self.state.tokens.expire_all();
    }

    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state.faults).latency = latency;
    }

    /// Every `every`-th EWS request gets ErrorServerBusy with `backoff_ms`; `None` turns it off.
    pub fn set_ews_server_busy(&self, every: Option<u64>, backoff_ms: u64) {
        let mut f = lock(&self.state.faults);
        f.ews_busy_every = every;
        f.ews_busy_backoff_ms = backoff_ms;
    }

    /// The next `times` content fetches of the item (EWS GetItem with MimeContent, Graph
    /// `$value`) answer with `fault`, on HTTP 200 for EWS and per sub-request in a `$batch`.
    pub fn fail_item(&self, address: &str, item: ItemRef, fault: ItemFault, times: usize) {
        let mut f = lock(&self.state.faults);
        f.item_faults
            .entry((address.to_ascii_lowercase(), item.n))
            .or_default()
            .extend(std::iter::repeat_n(fault, times));
    }

    /// Whether each EWS GetItem renders MIME anew (bytes differ between fetches), as Exchange
    /// does for items stored as MAPI properties.
    pub fn set_mime_varies(&self, on: bool) {
        lock(&self.state.faults).mime_varies = on;
    }

    /// Answers for the next follow-up requests of an item: GetItem of a series' changed
    /// occurrences (EWS), a contact's photo (Graph).
    pub fn fail_follow_ups(&self, address: &str, item: ItemRef, fault: ItemFault, times: usize) {
        let mut f = lock(&self.state.faults);
        f.follow_up_faults
            .entry((address.to_ascii_lowercase(), item.n))
            .or_default()
            .extend(std::iter::repeat_n(fault, times));
    }

    /// Drops every queued per-item and create fault.
    pub fn clear_item_faults(&self) {
        let mut f = lock(&self.state.faults);
        f.item_faults.clear();
        f.follow_up_faults.clear();
        f.create_faults.clear();
    }

    /// The next `times` creates (EWS CreateItem, Graph POST of a message, event or contact) in
    /// the mailbox whose subject (a contact's display name) contains `subject_contains` answer
    /// with `fault` instead of creating the item. Cleared by [`SimHandle::clear_item_faults`].
    pub fn fail_creates(
        &self,
        address: &str,
        subject_contains: &str,
        fault: ItemFault,
        times: usize,
    ) {
        if times == 0 {
            return;
        }
        lock(&self.state.faults)
            .create_faults
            .push(CreateFaultRule {
                mailbox: address.to_ascii_lowercase(),
                subject_contains: subject_contains.to_string(),
                fault,
                remaining: times,
            });
    }

    /// Every item a restore created in the mailbox (EWS CreateItem, Graph POST), oldest first,
    /// with what the server recorded about its creation.
    pub fn restored(&self, address: &str) -> Vec<RestoredItem> {
        self.with_mailbox(address, |mb| Ok(restore::restored_items(mb)))
            .unwrap_or_default()
    }

    /// Every folder below the top of the store as a path of display names ("Inbox/Projects").
    pub fn folder_paths(&self, address: &str) -> Vec<String> {
        self.with_mailbox(address, |mb| {
            let top = mb.well_known("msgfolderroot").map(|f| f.id.clone());
            let mut paths: Vec<String> = mb
                .folders
                .values()
                .filter(|f| top.as_ref().is_some_and(|t| mb.is_descendant(&f.id, t)))
                .map(|f| restore::folder_path(mb, &f.id))
                .collect();
            paths.sort();
            Ok(paths)
        })
        .unwrap_or_default()
    }

    /// The app roles of access tokens issued from now on (tokens issued before keep theirs).
    pub fn set_graph_roles(&self, roles: Vec<String>) {
        *lock(&self.state.graph_roles) = roles;
    }

    pub fn set_graph_throttle(&self, rule: Option<ThrottleRule>) {
        lock(&self.state.faults).graph_throttle = rule;
        lock(&self.state.budget).clear();
    }

    pub fn counters(&self) -> Counters {
        lock(&self.state.counters).clone()
    }

    pub fn reset_counters(&self) {
        *lock(&self.state.counters) = Counters::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_tokens_round_trip_in_both_alphabets() {
        let t = SyncToken {
            kind: "sfi".into(),
            scope: "AAMkAF_x-y|z".into(),
            seq: 17,
            epoch: 2,
            skip: 3,
        };
        assert_eq!(SyncToken::parse(&t.to_ews()), Some(t.clone()));
        assert_eq!(SyncToken::parse(&t.to_url()), Some(t));
        assert_eq!(SyncToken::parse("H4sIAAA=="), None);
    }
}
