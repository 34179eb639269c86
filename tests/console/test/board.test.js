// Issue 17, the case board: "an event posted through the API appears on the board" and "an action
// taken in the page lands in the case log"; a refusal shows the problem+json text.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiOk, postEvent, route, shanghaiClock, shot, textOf, tid, visible, failing, signedIn } from '../lib.js';

const STATES = ['reported', 'accepted', 'assigned', 'in_progress', 'returned', 'escalated', 'resolved'];

let browser;
let page;
before(async () => {
  ({ browser, page } = await signedIn());
});
after(async () => {
  await browser?.close();
});

/** `failing` on this file's page. */
const failingOn = (name, body) => failing(page, name, body);

/** Opens a case's page and waits until it shows the case in `state`. */
async function openCase(id, state) {
  await route(page, `#/cases/${id}`);
  await visible(page, 'case-page');
  await page.waitForFunction(
    (sel, s) => document.querySelector(sel)?.getAttribute('data-state') === s,
    { timeout: 10_000 },
    tid('case-state'),
    state,
  );
}

/** Clicks `action-<name>`, and the dialog's confirm button when one opens. */
async function act(name) {
  await (await visible(page, `action-${name}`)).click();
  const confirm = await page.waitForSelector(tid('action-confirm'), { visible: true, timeout: 1_500 }).catch(() => null);
  if (confirm) await confirm.click();
}

test('an event posted through the API appears on the board, in the reported column, within 10 s', async () => {
  await failingOn('board', async () => {
    await route(page, '#/board');
    await visible(page, 'board');
    for (const state of STATES) await visible(page, `column-${state}`);
    for (const filter of ['region', 'category', 'light', 'source']) await visible(page, `filter-${filter}`);
    const event = await postEvent('320613', { category: 'B05', description: '控制台测试：小区门口垃圾堆积' });
    const card = await page.waitForSelector(tid(`case-${event.case_id}`), { visible: true, timeout: 10_000 });
    const column = await card.evaluate((c) => c.closest('[data-testid^="column-"]')?.getAttribute('data-testid'));
    assert.equal(column, `column-${event.case_state}`, 'the card is in the column of its state');
    const href = await card.evaluate((c) => (c.closest('a') ?? c.querySelector('a'))?.getAttribute('href') ?? '');
    assert.ok(href.endsWith(`#/cases/${event.case_id}`), `the card links to its case page (${href})`);
    await shot(page, 'board-new-event');
  });
});

test('accepting a reported case in the page lands in the case log; a stale action shows the refusal', async () => {
  await failingOn('case', async () => {
    const event = await postEvent('320614', { category: 'B05', description: '控制台测试：路边垃圾无人清运' });
    assert.equal(event.case_state, 'reported', 'a resident report waits for the centre');
    await route(page, '#/board');
    await (await page.waitForSelector(tid(`case-${event.case_id}`), { visible: true, timeout: 10_000 })).click();
    await page.waitForFunction((id) => location.hash === `#/cases/${id}`, {}, event.case_id);
    await openCase(event.case_id, 'reported');
    await visible(page, 'case-deadline');
    // Dates in Asia/Shanghai (the browser runs in UTC): the report's time as the centre reads it.
    const reported = (await apiOk('GET', `/v1/cases/${event.case_id}`, {}, 200)).reported_at;
    const clock = shanghaiClock(reported);
    const pageText = await textOf(page, 'case-page');
    assert.ok(pageText.includes(clock), `the case page shows the report time ${reported} as ${clock} (Asia/Shanghai)`);
    await page.waitForSelector(`${tid('case-log')} ${tid('log-entry')}`, { visible: true });
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-verified') === 'true', {}, tid('log-verified'));

    await act('accept');
    await page.waitForSelector(`${tid('case-log')} ${tid('log-entry')}[data-action="accept"]`, { visible: true, timeout: 10_000 });
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-state') === 'accepted', {}, tid('case-state'));
    const log = await apiOk('GET', `/v1/cases/${event.case_id}/log`, {}, 200);
    const accepted = log.entries.filter((e) => e.action === 'accept');
    assert.equal(accepted.length, 1, `the API's log holds the page's accept once: ${JSON.stringify(log.entries)}`);
    assert.equal(accepted[0].role, 'centre', 'taken as a centre');
    assert.equal(log.verification.valid, true, 'the chain holds');
    const entries = await page.$$eval(`${tid('case-log')} ${tid('log-entry')}`, (es) => es.map((e) => e.getAttribute('data-action')));
    assert.deepEqual(entries.sort(), log.entries.map((e) => e.action).sort(), 'the page lists the same entries as the API');
    assert.equal(await page.$(tid('action-accept')), null, 'accept is no longer offered once accepted');
    await shot(page, 'case');

    // A refusal: a second case, accepted behind the page's back; the page's accept is then refused.
    const other = await postEvent('320623', { category: 'B05', description: '控制台测试：垃圾清运不及时' });
    await openCase(other.case_id, 'reported');
    await visible(page, 'action-accept');
    const body = { action: 'accept', actor: { kind: 'centre', id: '3206' }, note: '另一指挥中心已受理' };
    await apiOk('POST', `/v1/cases/${other.case_id}/actions`, { body }, [200, 201]);
    // The page's own request and the API's answer to it (the page sends If-Match with its version).
    const answered = page.waitForResponse(
      (r) => r.url().endsWith(`/v1/cases/${other.case_id}/actions`) && r.request().method() === 'POST',
      { timeout: 10_000 },
    );
    await act('accept');
    const response = await answered;
    assert.ok([409, 412].includes(response.status()), `the API refuses the stale accept (${response.status()})`);
    const refusal = await response.json();
    const error = await visible(page, 'action-error', 10_000);
    assert.equal(await error.evaluate((e) => e.getAttribute('role')), 'alert', 'action-error has role="alert"');
    const text = await textOf(page, 'action-error');
    assert.ok(
      text.includes(refusal.title) || text.includes(refusal.detail),
      `the refusal shows the problem's title or detail ("${refusal.title}" / "${refusal.detail}"): "${text}"`,
    );
    const otherLog = await apiOk('GET', `/v1/cases/${other.case_id}/log`, {}, 200);
    assert.equal(otherLog.entries.filter((e) => e.action === 'accept').length, 1, 'the refused click added nothing');
    await shot(page, 'action-error');
  });
});

test('the board filters by region, category and source', async () => {
  await failingOn('board-filters', async () => {
    const a = await postEvent('320681', { category: 'B05', offset: 1, description: '控制台测试：启东市的垃圾' });
    const b = await postEvent('320682', { category: 'B04', offset: 1, description: '控制台测试：如皋市夜间施工噪声' });
    await route(page, '#/board');
    await visible(page, 'board');
    const card = (c) => tid(`case-${c.case_id}`);
    const shows = async (c) => (await page.$(card(c))) !== null;
    /** Waits until the board shows `yes` and not `no` (within two refreshes). */
    const until = async (yes, no, what) => {
      await page
        .waitForFunction((y, n) => y.every((s) => document.querySelector(s)) && !n.some((s) => document.querySelector(s)), {
          timeout: 10_000,
        }, yes.map(card), no.map(card))
        .catch(() => {
          throw new Error(`${what}: expected ${yes.map((c) => c.case_id)} shown and ${no.map((c) => c.case_id)} not`);
        });
    };
    await until([a, b], [], 'no filter');
    const region = await visible(page, 'filter-region');
    await region.click({ clickCount: 3 });
    await region.type('320681');
    await page.keyboard.press('Tab');
    await until([a], [b], 'region 320681');
    await region.click({ clickCount: 3 });
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Tab');
    await page.select(tid('filter-category'), 'B04');
    await until([b], [a], 'category B04');
    await page.select(tid('filter-category'), '');
    await page.select(tid('filter-source'), 'grid_staff');
    await until([], [a, b], 'source grid_staff');
    await page.select(tid('filter-source'), 'resident');
    await until([a, b], [], 'source resident');
    assert.ok((await shows(a)) && (await shows(b)));
    await page.select(tid('filter-source'), '');
    await until([a, b], [], 'no filter again');
    await page.evaluate(() => document.activeElement?.blur());
    await shot(page, 'board'); // the README's: the cases of this file in their columns
  });
});
