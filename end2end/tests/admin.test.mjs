// An administrator connects Exchange, creates a sync task and watches mail arrive; an end user
// then finds it. Against the built-in simulator, through the real UI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startPortal, startSimulator, openBrowser, hydrated, screenshot, signIn } from './harness.mjs';

const admin = { username: 'root', displayName: 'Root Admin', password: 'correct horse battery', admin: true };
const alice = {
  username: 'alice', displayName: 'Alice Martin', password: 'correct horse battery',
  address: 'alice.martin@example.com',
};
let portal;
let sim;
let browser;

before(async () => {
  sim = await startSimulator();
  portal = await startPortal({ users: [admin, alice] });
  browser = await openBrowser();
});

after(async () => {
  await browser?.browser.close();
  await portal?.stop();
  await sim?.stop();
});

test('an end user cannot open the admin area', async () => {
  const context = await browser.browser.newContext();
  const page = await context.newPage();
  await signIn(page, portal.url, alice.username, alice.password);
  await page.goto(`${portal.url}/admin/tasks`);
  await page.locator('h1', { hasText: 'Administrators only' }).waitFor();
  assert.equal(await page.locator('.admin-tabs').count(), 0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${portal.url}/sign-in`);
  await context.close();
});

test('a wrong password is reported by the connection test', async () => {
  const { page } = browser;
  await signIn(page, portal.url, admin.username, admin.password);
  // The mail screen goes without the admin screens; they come in a bundle of their own.
  const mailScripts = await page.locator('script[type="module"], link[rel="modulepreload"]').evaluateAll(
    (nodes) => nodes.map((n) => n.getAttribute('href') || n.textContent).join(' '));
  assert.match(mailScripts, /sync-recover\.[0-9a-f]{16}/);
  assert.doesNotMatch(mailScripts, /sync-recover-admin/);
  await page.getByRole('link', { name: 'Admin', exact: true }).click();
  await page.waitForURL(/\/admin\//);
  await page.goto(`${portal.url}/admin/connections`);
  await hydrated(page);
  const adminScripts = await page.locator('link[rel="modulepreload"]').evaluateAll(
    (nodes) => nodes.map((n) => n.getAttribute('href')).join(' '));
  assert.match(adminScripts, /sync-recover-admin\.[0-9a-f]{16}\.js/);
  await page.fill('input[name="name"]', 'Wrong password');
  await page.fill('input[name="url"]', sim.ewsUrl);
  await page.fill('input[name="username"]', sim.serviceAccount);
  await page.fill('input[name="secret"]', 'not the password');
  await page.getByRole('button', { name: 'Add connection' }).click();
  await page.locator('.outcome.ok', { hasText: 'Wrong password' }).waitFor();
  const row = page.locator('tr', { hasText: 'Wrong password' });
  await row.getByRole('button', { name: 'Test' }).click();
  const result = page.locator('.test-result .outcome.error');
  await result.waitFor();
  assert.match(await result.textContent(), /password|credential|401/i);
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.locator('tr', { hasText: 'Wrong password' }).waitFor({ state: 'detached' });
});

test('an admin adds a connection and a task, and the mailbox syncs', async () => {
  const { page, problems } = browser;
  await page.goto(`${portal.url}/admin/connections`);
  await hydrated(page);
  await page.fill('input[name="name"]', 'Head office');
  await page.fill('input[name="url"]', sim.ewsUrl);
  await page.fill('input[name="username"]', sim.serviceAccount);
  await page.fill('input[name="secret"]', sim.servicePassword);
  await page.getByRole('button', { name: 'Add connection' }).click();
  const row = page.locator('tr', { hasText: 'Head office' });
  await row.waitFor();
  assert.match(await row.textContent(), /stored, encrypted/);
  assert.equal(await page.locator(`text=${sim.servicePassword}`).count(), 0, 'the secret is never shown');
  await row.locator('input.probe').fill(alice.address);
  await row.getByRole('button', { name: 'Test' }).click();
  await page.locator('.test-result .outcome.ok').waitFor();
  await screenshot(page, 'admin-connections');

  await page.getByRole('link', { name: 'Sync tasks' }).click();
  await page.waitForURL(`${portal.url}/admin/tasks`);
  await hydrated(page);
  await page.fill('input[name="name"]', 'Staff');
  await page.fill('textarea[name="mailboxes"]', alice.address);
  await page.getByRole('button', { name: 'Create task' }).click();
  await page.locator('.outcome.ok', { hasText: 'Task “Staff” created' }).waitFor();
  const card = page.locator('.task-card', { hasText: 'Staff' });
  await card.getByRole('button', { name: 'Sync all now' }).click();
  // The page refreshes statuses by itself while the worker runs.
  await card.locator('.status-healthy').waitFor({ timeout: 60_000 });
  await card.getByRole('button', { name: 'History' }).click();
  await card.locator('.history-table td', { hasText: /new/ }).first().waitFor();
  await screenshot(page, 'admin-tasks');
  assert.deepEqual(problems, []);
});

test('the end user finds the synced mail', async () => {
  // Their own browser: the admin's session must not carry over.
  const context = await browser.browser.newContext();
  const page = await context.newPage();
  await signIn(page, portal.url, alice.username, alice.password);
  await hydrated(page);
  const inbox = page.locator('li.folder', { hasText: 'Inbox' }).first();
  await inbox.waitFor();
  const total = Number(await inbox.locator('.count.total').textContent());
  assert.ok(total > 0, `the synced Inbox has mail (${total})`);
  // The list loads after the folder tree: wait for it rather than count too early.
  await page.locator('.rows .row').first().waitFor();
  assert.ok(await page.locator('.rows .row').count() > 0);
  await context.close();
});

test('an administrator adds an auditor, a role of their own, and checks the audit log', async () => {
  const { page, problems } = browser;
  await page.goto(`${portal.url}/admin/users`);
  await hydrated(page);
  // Each user card has a password field of its own: fill the one of the "Add a user" form.
  const add = page.locator('section', { hasText: 'Add a user' });
  await add.locator('input[name="username"]').fill('carol');
  await add.locator('input[name="display_name"]').fill('Carol Chen');
  await add.locator('input[name="password"]').fill('correct horse battery');
  await add.locator('textarea[name="addresses"]').fill('carol@example.com');
  await add.getByRole('button', { name: 'Add user' }).click();
  await page.locator('.outcome.ok', { hasText: /^carol added\.$/ }).waitFor();
  const card = page.locator('.user-card', { hasText: 'Carol Chen' });
  await card.waitFor();
  await card.locator('select[name="role"]').selectOption({ label: 'Auditor' });
  await card.getByRole('button', { name: 'Give role' }).click();
  await page.locator('.user-card', { hasText: 'Carol Chen' }).locator('.chip', { hasText: 'Auditor' }).waitFor();
  await screenshot(page, 'admin-users');

  await page.getByRole('link', { name: 'Roles' }).click();
  await page.waitForURL(`${portal.url}/admin/roles`);
  await hydrated(page);
  const create = page.locator('section', { hasText: 'Create a role' });
  await create.locator('input[name="name"]').fill('Exporters');
  await create.locator('input[name="description"]').fill('Export for legal holds');
  await create.locator('label', { hasText: 'Export' }).first().locator('input').check();
  await create.getByRole('button', { name: 'Create role' }).click();
  await page.locator('.outcome.ok', { hasText: 'Role “Exporters” created' }).waitFor();
  await page.locator('.role-card', { hasText: 'Exporters' }).waitFor();
  await screenshot(page, 'admin-roles');

  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.waitForURL(`${portal.url}/admin/audit`);
  await hydrated(page);
  await page.locator('.audit-table td', { hasText: 'role assigned' }).first().waitFor();
  await page.getByRole('button', { name: 'Verify the chain' }).click();
  await page.locator('.outcome.ok', { hasText: 'intact' }).waitFor();
  await screenshot(page, 'admin-audit');
  assert.deepEqual(problems, []);

  // Carol, an auditor, sees the audit log and no other admin screen.
  const context = await browser.browser.newContext();
  const hers = await context.newPage();
  await signIn(hers, portal.url, 'carol', 'correct horse battery');
  await hers.goto(`${portal.url}/admin/audit`);
  await hers.locator('.admin-tabs a', { hasText: 'Audit log' }).waitFor();
  assert.deepEqual(await hers.locator('.admin-tabs a').allTextContents(), ['Audit log']);
  await hers.goto(`${portal.url}/admin/tasks`);
  await hers.locator('h1', { hasText: 'Not part of your role' }).waitFor();
  await context.close();
});

test('an administrator reads the calendar with its series and the address book', async () => {
  const { page, problems } = browser;
  await page.goto(`${portal.url}/admin/mailboxes`);
  await hydrated(page);
  await page.locator('.mailbox-table tr', { hasText: alice.address }).getByRole('link', { name: 'Open' }).click();
  await page.waitForURL(/\/admin\/mailbox\?m=\d+$/);
  await hydrated(page);
  await page.locator('.explorer-tabs').getByRole('link', { name: 'Calendar' }).click();
  await page.waitForURL(/\/admin\/mailbox\/calendar/);
  await hydrated(page);
  // The latest month with events opens; September has the series, its moved and deleted ones.
  await page.locator('.month-nav h2', { hasText: 'October 2025' }).waitFor();
  await page.getByRole('link', { name: 'Previous month' }).click();
  await page.locator('.month-nav h2', { hasText: 'September 2025' }).waitFor();
  const day = (date) => page.locator(`td[data-date="${date}"] .event-chip`);
  assert.match(await day('2025-09-08').textContent(), /10:00.*Weekly team meeting/);
  assert.equal(await day('2025-09-22').count(), 0, 'moved away');
  assert.match(await day('2025-09-23').textContent(), /14:00.*Weekly team meeting/);
  assert.equal(await day('2025-09-29').count(), 0, 'deleted');
  assert.match(await day('2025-09-11').textContent(), /Founding day/);
  assert.equal(await page.locator('.month-grid td.other-month').first().count(), 1);
  await day('2025-09-23').click();
  const pane = page.locator('.event-pane');
  await pane.locator('h2', { hasText: 'Weekly team meeting' }).waitFor();
  assert.match(await pane.textContent(), /This occurrence.*Tue 23 Sep 2025 14:00–15:00 \(changed from the series\)/);
  assert.match(await pane.textContent(), /Every week on Monday, 6 times/);
  assert.match(await pane.textContent(), /Where\s*Room 1\.01 \(the series: Room 3\.14\)/);
  assert.match(await pane.locator('.attendees').textContent(), /Daniel Okafor.*Accepted/);
  assert.match(await pane.locator('.attendees').textContent(), /Emma Lindqvist.*Tentative/);
  await screenshot(page, 'explorer-calendar');
  // The series downloads on its own as iCalendar, with its attendees and exceptions.
  const [ics] = await Promise.all([
    page.waitForEvent('download'),
    pane.getByRole('link', { name: 'Download .ics' }).click(),
  ]);
  assert.equal(ics.suggestedFilename(), 'Weekly team meeting.ics');
  const icsText = readFileSync(await ics.path(), 'utf8');
  for (const wanted of ['RRULE:FREQ=WEEKLY', 'RECURRENCE-ID', 'EXDATE', 'daniel.okafor@example.com']) {
    assert.ok(icsText.includes(wanted), `${wanted} in ${icsText}`);
  }

  // Read in Tokyo the meeting moves to the evening; the agenda lists the month by day.
  await page.selectOption('select[name="tz"]', 'Asia/Tokyo');
  await page.locator('.zone-form').getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/tz=Asia%2FTokyo/);
  await page.locator('td[data-date="2025-09-08"] .event-chip', { hasText: '17:00' }).waitFor();
  await page.getByRole('link', { name: 'Agenda view' }).click();
  await page.waitForURL(/view=agenda/);
  const first = page.locator('.agenda-day').first();
  await first.waitFor();
  assert.match(await first.textContent(), /Mon 8 September.*17:00–18:00.*Weekly team meeting.*Room 3\.14/);
  await screenshot(page, 'explorer-agenda');

  await page.locator('.explorer-tabs').getByRole('link', { name: 'Contacts' }).click();
  await page.waitForURL(/\/admin\/mailbox\/contacts/);
  await hydrated(page);
  const rows = page.locator('.contact-rows li');
  await rows.first().waitFor();
  assert.deepEqual(await page.locator('.contact-rows .contact-name').allTextContents(),
    ['Daniel Okafor', 'Emma Lindqvist', 'Farid Haddad']);
  await page.fill('input[aria-label="Find a contact"]', 'lindq');
  await page.waitForFunction(() => document.querySelectorAll('.contact-rows li').length === 1);
  await rows.first().locator('a').click();
  const card = page.locator('.contact-card');
  await card.locator('h2', { hasText: 'Emma Lindqvist' }).waitFor();
  assert.match(await card.textContent(), /Bahnhofstrasse 1.*8001 Zürich.*Switzerland/);
  assert.match(await card.textContent(), /Storgatan 5/);
  assert.match(await card.textContent(), /12 April 1985/);
  const photo = card.locator('img.contact-photo');
  assert.match(await photo.getAttribute('src'), /^data:image\/png;base64,/);
  assert.ok(await photo.evaluate((img) => img.complete && img.naturalWidth > 0), 'the photo shows');
  await screenshot(page, 'explorer-contacts');
  const [vcf] = await Promise.all([
    page.waitForEvent('download'),
    card.getByRole('link', { name: 'Download .vcf' }).click(),
  ]);
  assert.equal(vcf.suggestedFilename(), 'Emma Lindqvist.vcf');
  assert.match(readFileSync(await vcf.path(), 'utf8'), /BEGIN:VCARD[\s\S]*PHOTO/);
  assert.deepEqual(problems, []);
});

test('an administrator searches the mail of every mailbox and opens a hit where it is', async () => {
  const { page, problems } = browser;
  await page.goto(`${portal.url}/admin/mailboxes`);
  await hydrated(page);
  await page.fill('input[aria-label="Search mail in every mailbox"]', 'harbour');
  await page.getByRole('button', { name: 'Search mail' }).click();
  await page.waitForURL(/\/admin\/search\?q=harbour/);
  await hydrated(page);
  const hits = page.locator('.across-table tbody tr');
  await hits.first().waitFor();
  assert.match(await page.locator('.across-summary').textContent(), /found in 1 mailbox$/);
  assert.match(await hits.first().textContent(), /Alice Martin/);
  assert.match(await hits.first().locator('a.strong-link').textContent(), /Harbour/);
  assert.equal(await page.locator('.admin-tabs a.current').textContent(), 'Mailboxes');
  await screenshot(page, 'explorer-search-all');
  await hits.first().locator('a.strong-link').click();
  await page.waitForURL(/\/admin\/mailbox\?m=\d+.*msg=\d+/);
  await page.locator('.reader-subject', { hasText: /Harbour/i }).waitFor();
  assert.deepEqual(problems, []);
});

test('an administrator explores the mailbox, snapshots it and sees what the source changed', async () => {
  const { page, problems } = browser;
  await page.goto(`${portal.url}/admin/mailboxes`);
  await hydrated(page);
  const row = page.locator('.mailbox-table tr', { hasText: alice.address });
  await row.waitFor();
  assert.match(await row.textContent(), /Staff · Head office/);
  await row.getByRole('link', { name: 'Open' }).click();
  await page.waitForURL(/\/admin\/mailbox\?m=\d+$/);
  await hydrated(page);
  const inbox = page.locator('li.folder', { hasText: 'Inbox' }).first();
  await inbox.waitFor();
  const before = Number(await inbox.locator('.count.total').textContent());
  assert.ok(before >= 2, `the Inbox has mail (${before})`);
  await page.locator('.rows .row').first().click();
  await page.locator('.reader-subject').waitFor();
  // The body comes through the explorer's own (audited) route into the sandboxed frame.
  const body = page.frameLocator('iframe.message-body').locator('body');
  await body.waitFor();
  assert.ok((await body.textContent()).trim().length > 0, 'the message body shows');
  await screenshot(page, 'explorer-mailbox');

  await page.getByRole('link', { name: 'Snapshots' }).click();
  await page.waitForURL(/\/admin\/mailbox\/snapshots/);
  await hydrated(page);
  await page.fill('input[name="label"]', 'Before the clean-up');
  await page.getByRole('button', { name: 'Take snapshot' }).click();
  await page.locator('.outcome.ok', { hasText: 'Snapshot “Before the clean-up”' }).waitFor();
  const snapshot = page.locator('.snapshot-table tr', { hasText: 'Before the clean-up' });
  await snapshot.waitFor();
  await screenshot(page, 'explorer-snapshots');

  // In the source, one message is deleted and another moved to Deleted Items; then a sync.
  await new Promise((r) => setTimeout(r, 1100));
  const control = `${sim.url}/_control/${alice.address}`;
  assert.equal((await fetch(`${control}/delete?folder=inbox&index=0`, { method: 'POST' })).status, 200);
  assert.equal((await fetch(`${control}/move?folder=inbox&index=0&to=deleteditems`, { method: 'POST' })).status, 200);
  await page.goto(`${portal.url}/admin/tasks`);
  await hydrated(page);
  const card = page.locator('.task-card', { hasText: 'Staff' });
  await card.getByRole('button', { name: 'Sync all now' }).click();

  // The difference shows both changes once the sync has seen them.
  await page.goBack();
  await hydrated(page);
  const compare = await page.locator('.snapshot-table tr', { hasText: 'Before the clean-up' })
    .getByRole('link', { name: 'Compare with now' }).getAttribute('href');
  let moved = page.locator('tr[data-kind="moved"]');
  for (let i = 0; i < 60; i++) {
    await page.goto(`${portal.url}${compare}`);
    await hydrated(page);
    await page.locator('.change-chips').waitFor();
    if (await moved.count() > 0 && await page.locator('tr[data-kind="deleted"]').count() > 0) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.match(await moved.first().textContent(), /Inbox → Deleted Items/);
  assert.match(await moved.first().textContent(), /Between the syncs of/);
  assert.equal(await page.locator('tr[data-kind="deleted"]').count(), 1);
  assert.equal(await page.locator('tr[data-kind="added"]').count(), 0);
  await page.getByRole('button', { name: /Select the 1 deleted items/ }).click();
  await page.locator('.outcome.ok', { hasText: 'saved with 1 item' }).waitFor();
  await screenshot(page, 'explorer-changes');

  // The snapshot still shows the Inbox as it was; now it has two fewer.
  await page.goto(`${portal.url}/admin/mailbox/snapshots?${compare.split('?')[1].split('&')[0]}`);
  await hydrated(page);
  await page.locator('.snapshot-table tr', { hasText: 'Before the clean-up' })
    .getByRole('link', { name: 'Browse' }).click();
  await page.waitForURL(/at=/);
  await hydrated(page);
  await page.locator('.instant-note', { hasText: 'As seen by the sync of' }).waitFor();
  const then = page.locator('li.folder', { hasText: 'Inbox' }).first();
  assert.equal(Number(await then.locator('.count.total').textContent()), before);
  await screenshot(page, 'explorer-as-of');
  await page.getByRole('link', { name: 'Now' }).click();
  await page.waitForURL(/\/admin\/mailbox\?m=\d+$/);
  await hydrated(page);
  const now = page.locator('li.folder', { hasText: 'Inbox' }).first();
  await page.waitForFunction(
    (n) => Number(document.querySelector('li.folder .count.total')?.textContent) === n,
    before - 2,
  );
  assert.equal(Number(await now.locator('.count.total').textContent()), before - 2);
  assert.deepEqual(problems, []);
});

test('an administrator exports the deleted items and the whole mailbox, and reads the reports', async () => {
  const { page, problems } = browser;
  await page.goto(`${portal.url}/admin/mailboxes`);
  await hydrated(page);
  await page.locator('.mailbox-table tr', { hasText: alice.address }).getByRole('link', { name: 'Open' }).click();
  await page.waitForURL(/\/admin\/mailbox\?m=\d+$/);
  await hydrated(page);

  // The selection of the deleted message, made on the What changed screen, as mbox.
  await page.getByRole('link', { name: 'Snapshots' }).click();
  await page.waitForURL(/\/admin\/mailbox\/snapshots/);
  await hydrated(page);
  const selection = page.locator('tr', { hasText: 'deleted' }).filter({ has: page.getByRole('link', { name: 'Export' }) }).first();
  await selection.getByRole('link', { name: 'Export' }).click();
  await page.waitForURL(/\/admin\/export\?selection=\d+/);
  await hydrated(page);
  await page.locator('.export-form', { hasText: 'The selection' }).waitFor();
  assert.match(await page.locator('.export-owner').textContent(), new RegExp(alice.address));
  await page.check('input[name="format"][value="mbox"]');
  await screenshot(page, 'export-form');
  await page.getByRole('button', { name: 'Start export' }).click();
  await page.waitForURL(/\/admin\/jobs\?job=\d+/);
  await hydrated(page);
  // The screen follows the job by itself until it has ended.
  await page.locator('.jobs-table tr.chosen .status', { hasText: /^Done/ }).waitFor({ timeout: 30000 });
  await page.locator('.job-report .report-table tbody tr').first().waitFor();
  assert.equal(await page.locator('.job-report .report-table tbody tr').count(), 1);
  assert.match(await page.locator('.job-report .report-table').textContent(), /created.*\.mbox/s);
  assert.match(await page.locator('.jobs-table tr.chosen').textContent(), /1 of 1 item(?!s)/);
  const href = await page.locator('.job-file a.button').getAttribute('href');
  const file = await page.request.get(`${portal.url}${href}`);
  assert.equal(file.status(), 200);
  const bytes = await file.body();
  assert.equal(bytes.subarray(0, 2).toString(), 'PK', 'a zip');

  // The whole mailbox as EML, from the mail tab's Export button.
  await page.goto(`${portal.url}/admin/mailboxes`);
  await hydrated(page);
  await page.locator('.mailbox-table tr', { hasText: alice.address }).getByRole('link', { name: 'Open' }).click();
  await page.waitForURL(/\/admin\/mailbox\?m=\d+$/);
  await hydrated(page);
  await page.getByRole('link', { name: 'Export…' }).click();
  await page.waitForURL(/\/admin\/export\?m=\d+/);
  await hydrated(page);
  await page.locator('.export-form', { hasText: 'The whole mailbox' }).waitFor();
  await page.getByRole('button', { name: 'Start export' }).click();
  await page.waitForURL(/\/admin\/jobs\?job=\d+/);
  await hydrated(page);
  await page.locator('.jobs-table tr.chosen .status', { hasText: /^Done/ }).waitFor({ timeout: 30000 });
  const rows = page.locator('.jobs-table tbody tr');
  assert.equal(await rows.count(), 2, 'both exports are listed');
  assert.match(await page.locator('.job-report .summary-line').textContent(), /0 failed/);
  assert.match(await page.locator('.job-report .report-table').textContent(), /\.eml/);
  assert.match(await page.locator('.job-report .report-table').textContent(), /Calendar\.ics/);
  await screenshot(page, 'jobs');
  assert.deepEqual(problems, []);
});

test('an administrator restores the deleted message: a dry run, then the restore, then its report', async () => {
  const { page, problems } = browser;
  await page.goto(`${portal.url}/admin/mailboxes`);
  await hydrated(page);
  await page.locator('.mailbox-table tr', { hasText: alice.address }).getByRole('link', { name: 'Open' }).click();
  await page.waitForURL(/\/admin\/mailbox\?m=\d+$/);
  await hydrated(page);
  await page.getByRole('link', { name: 'Snapshots' }).click();
  await page.waitForURL(/\/admin\/mailbox\/snapshots/);
  await hydrated(page);
  // The selection of the message deleted in the source, made on the What changed screen.
  const selection = page.locator('tr', { hasText: 'deleted' }).filter({ has: page.getByRole('link', { name: 'Restore' }) }).first();
  await selection.getByRole('link', { name: 'Restore' }).click();
  await page.waitForURL(/\/admin\/restore\?selection=\d+/);
  await hydrated(page);
  await page.locator('.restore-form', { hasText: 'The selection' }).waitFor();
  const target = page.locator('select[name="target"]');
  assert.match(await target.locator('option').first().textContent(), new RegExp(`${alice.address}.*its own mailbox.*Head office`));
  await page.locator('.access-ok').waitFor();
  assert.equal(await page.locator('.restore-target.elsewhere').count(), 0, 'its own mailbox: no warning');
  await screenshot(page, 'restore-form');
  await page.getByRole('button', { name: 'Start the dry run' }).click();

  // The dry run's report: per folder what would happen; nothing written yet.
  await page.waitForURL(/\/admin\/jobs\?job=\d+/);
  await hydrated(page);
  const dryUrl = page.url();
  await page.locator('.jobs-table tr.chosen .status', { hasText: /^Done/ }).waitFor({ timeout: 30000 });
  await page.locator('.dry-run-note').waitFor();
  await page.locator('.job-report .summary-line', { hasText: /1 would be created/ }).waitFor();
  const tally = page.locator('.tally-table tbody tr', { hasText: 'Inbox' });
  await tally.waitFor();
  // Created, merged, skipped, failed.
  assert.match(await tally.textContent(), /Inbox\s*1\s*0\s*0\s*0/);
  await screenshot(page, 'restore-dry-run');

  await page.getByRole('button', { name: 'Restore 1 item' }).click();
  await page.waitForURL((url) => /\/admin\/jobs\?job=\d+/.test(url.href) && url.href !== dryUrl);
  await hydrated(page);
  await page.locator('.jobs-table tr.chosen .status', { hasText: /^Done/ }).waitFor({ timeout: 30000 });
  // The list and the report refresh each second, one after the other: wait for the report too.
  await page.locator('.job-report .summary-line', { hasText: /1 created.*0 skipped.*0 failed/s }).waitFor();
  assert.equal(await page.locator('.dry-run-note').count(), 0);
  assert.match(await page.locator('.job-report .report-table').textContent(), /created\s*Inbox\/.+Inbox/s);
  assert.match(await page.locator('.restore-target').textContent(), new RegExp(`Into ${alice.address}, the mailbox these items came from`));
  await screenshot(page, 'restore-report');

  // Run again from the same dry run: the message is there now, so nothing is created.
  await page.goto(dryUrl);
  await hydrated(page);
  await page.getByRole('button', { name: 'Restore 1 item' }).click();
  await page.waitForURL((url) => /\/admin\/jobs\?job=\d+/.test(url.href) && url.href !== dryUrl);
  await hydrated(page);
  await page.locator('.jobs-table tr.chosen .status', { hasText: /^Done/ }).waitFor({ timeout: 30000 });
  await page.locator('.job-report .summary-line', { hasText: /0 created.*1 skipped/s }).waitFor();
  assert.match(await page.locator('.job-report .report-table').textContent(), /already restored into this folder/);
  assert.deepEqual(problems, []);
});

test('retention keeps mail 58 days while a task syncs; a paused task says what it needs; a dry run and a purge report', async () => {
  // Its own browser: refusals answer 422, which Chromium logs as console errors.
  const context = await browser.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 422/.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await signIn(page, portal.url, admin.username, admin.password);

  await page.goto(`${portal.url}/admin/tasks`);
  await hydrated(page);
  await page.locator('.prerequisites.all-met', { hasText: 'Ready to sync' }).waitFor();

  await page.getByRole('link', { name: 'Retention' }).click();
  await page.waitForURL(`${portal.url}/admin/retention`);
  await hydrated(page);
  await page.locator('.notice', { hasText: /at least 58 days.*Staff/ }).waitFor();
  await page.fill('input[name="mail_days"]', '30');
  await page.getByRole('button', { name: 'Save default' }).click();
  await page.locator('.outcome.error', { hasText: /at least 58 days.*Staff/ }).waitFor();

  // Paused, the task no longer needs it; enabling it again is refused, naming what is missing.
  await page.goto(`${portal.url}/admin/tasks`);
  await hydrated(page);
  const card = page.locator('.task-card', { hasText: 'Staff' });
  await card.getByRole('button', { name: 'Pause' }).click();
  await page.locator('.outcome.ok', { hasText: 'paused' }).waitFor();
  await page.goto(`${portal.url}/admin/retention`);
  await hydrated(page);
  await page.fill('input[name="mail_days"]', '30');
  await page.getByRole('button', { name: 'Save default' }).click();
  await page.locator('.outcome.ok', { hasText: 'mail 30 days after it left the mailbox' }).waitFor();
  await page.goto(`${portal.url}/admin/tasks`);
  await hydrated(page);
  await page.locator('.prerequisites h2', { hasText: 'Before a task can run' }).waitFor();
  const blocked = card.locator('ul.prerequisites.blocked li.missing');
  await blocked.waitFor();
  assert.match(await blocked.textContent(), /30 days.*58 days/);
  assert.equal(await blocked.getByRole('link', { name: 'Go to Retention' }).getAttribute('href'), '/admin/retention');
  await screenshot(page, 'admin-tasks-prerequisites');
  await card.getByRole('button', { name: 'Enable' }).click();
  await page.locator('.outcome.error', { hasText: /58 days/ }).waitFor();

  await page.goto(`${portal.url}/admin/retention`);
  await hydrated(page);
  await page.fill('input[name="mail_days"]', '365');
  await page.getByRole('button', { name: 'Save default' }).click();
  await page.locator('.outcome.ok', { hasText: 'mail 365 days' }).waitFor();
  await page.goto(`${portal.url}/admin/tasks`);
  await hydrated(page);
  await card.getByRole('button', { name: 'Enable' }).click();
  await page.locator('.outcome.ok', { hasText: 'enabled' }).waitFor();

  // Nothing synced today is past a year: the dry run says so, and so does the purge.
  await page.goto(`${portal.url}/admin/retention`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Dry run' }).click();
  await page.locator('.dry-run .outcome.ok', { hasText: 'a purge now would remove nothing' }).waitFor();
  await page.getByLabel('I understand a purge deletes archived content for good').check();
  await page.getByRole('button', { name: 'Purge now' }).click();
  await page.locator('.outcome.ok', { hasText: /Purge job \d+ started/ }).waitFor();
  const done = page.locator('.purge-jobs tr', { hasText: '0 messages, 0 calendar items, 0 contacts removed' });
  await done.waitFor({ timeout: 30_000 });
  await screenshot(page, 'admin-retention');
  assert.deepEqual(problems, []);
  await context.close();
});

test('an administrator gives a legacy agent a token, the agent submits, and the user is migrated for good', async () => {
  const { page, problems } = browser;
  await page.goto(`${portal.url}/admin/legacy`);
  await hydrated(page);
  await page.locator('.empty', { hasText: 'No agent yet' }).waitFor();
  await page.fill('input[name="name"]', 'exchange-01');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.locator('.new-token code.token').textContent()).trim();
  assert.match(token, /^srla_/);

  // The agent submits as the real one does: a bearer token, JSON, no session.
  const submit = (id) => fetch(`${portal.url}/legacy/v1/submissions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      submission_id: id,
      mailbox: alice.address,
      folders: [{ id: 'f1', name: 'Inbox' }],
      messages: [{ folder_id: 'f1', internet_message_id: '<not-ingested-yet@example.org>', is_read: true }],
    }),
  });
  const first = await submit('s-1');
  assert.equal(first.status, 200);
  assert.equal((await first.json()).unmatched, 1);
  const anonymous = await fetch(`${portal.url}/legacy/v1/submissions`, { method: 'POST', body: '{}' });
  assert.equal(anonymous.status, 401);

  await page.reload();
  await hydrated(page);
  const row = page.locator('.legacy-users tr', { hasText: alice.address });
  await row.locator('.status', { hasText: 'legacy agent' }).waitFor();
  await row.getByRole('button', { name: 'Choose to migrate' }).click();
  assert.equal(await page.locator('textarea[name="addresses"]').inputValue(), alice.address);
  const migrate = page.getByRole('button', { name: 'Migrate', exact: true });
  assert.equal(await migrate.isDisabled(), true, 'not before the confirmation');
  await page.getByLabel('I understand a migration cannot be rolled back').check();
  await migrate.click();
  await page.locator('.outcome.ok', { hasText: `Migrated to direct sync: ${alice.address}` }).waitFor();
  await row.locator('.status', { hasText: 'direct sync' }).waitFor();

  // Later submissions are ignored and counted, here and on the user's sync status.
  const later = await submit('s-2');
  assert.equal((await later.json()).ignored, true);
  await page.reload();
  await hydrated(page);
  await row.locator('.reason', { hasText: 'Ignored legacy submissions: 1' }).waitFor();
  await screenshot(page, 'admin-legacy');
  await page.goto(`${portal.url}/admin/tasks`);
  await hydrated(page);
  await page.locator('.task-card .legacy-note', { hasText: 'Ignored legacy submissions: 1' }).waitFor();

  // Legacy mail: a PST uploaded on the screen, then imported into a mailbox by a job.
  await page.goto(`${portal.url}/admin/legacy`);
  await hydrated(page);
  await page.locator('input[type="file"][name="file"]').setInputFiles(
    new URL('../node_modules/pst-extractor/example/testdata/enron.pst', import.meta.url).pathname,
  );
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await page.waitForURL(/uploaded=enron\.pst/);
  await hydrated(page);
  await page.locator('.outcome.ok', { hasText: 'enron.pst uploaded' }).waitFor();
  const file = page.locator('.import-files tr', { hasText: 'enron.pst' });
  await file.locator('input[name="mailbox"]').fill('michelle.lokay@example.com');
  await file.getByRole('button', { name: 'Import' }).click();
  await page.locator('.import-jobs tr', { hasText: '71 read: 71 imported' }).waitFor({ timeout: 30_000 });
  await screenshot(page, 'admin-legacy-import');
  assert.deepEqual(problems, []);
});
