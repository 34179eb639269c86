// Issue 17, "a region-bound key cannot see another region's grids or cases": a key bound to
// 通州区 (320612) signs in; the map draws only 320612's grids, the board shows no case of another
// district, and another district's case by its address (#/cases/<id>) is refused, not shown.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CONSOLE,
  api,
  apiOk,
  gridsDrawn,
  launch,
  newPage,
  outlines,
  postEvent,
  regionKey,
  route,
  shot,
  signIn,
  thisMonth,
  tid,
  visible,
  failing,
} from '../lib.js';

const OWN = '320612';
const OTHER = '320613';

let browser;
let page;
let key;
let ownCase;
let otherCase;
const outlineCodes = [];
before(async () => {
  key = await regionKey(OWN, '通州区指挥中心（控制台测试）');
  ownCase = await postEvent(OWN, { category: 'B06', offset: 2, description: '控制台测试：通州区餐饮油烟' });
  otherCase = await postEvent(OTHER, { category: 'B06', offset: 2, description: '控制台测试：崇川区餐饮油烟' });
  await apiOk('POST', `/v1/assessments/${thisMonth()}/run`, {}, [200, 201]);
  browser = await launch();
  page = await newPage(browser);
  // Every outline the page receives, whatever URL it asks with.
  page.on('response', async (response) => {
    if (!response.url().includes('/v1/grids/outlines') || response.status() !== 200) return;
    try {
      const body = await response.json();
      for (const f of body.features ?? []) outlineCodes.push(f.properties.code);
    } catch {
      // not JSON (a 304 has no body): nothing to check
    }
  });
});
after(async () => {
  await browser?.close();
});

/** `failing` on this file's page. */
const failingOn = (name, body) => failing(page, name, body);

test('a key bound to 320612 sees only its grids on the map', async () => {
  await failingOn('region-map', async () => {
    const own = await outlines(OWN, key);
    assert.ok(own.length > 0 && own.length < 9207, `the API answers 320612's grids only (${own.length})`);
    const forbidden = await api('GET', `/v1/grids/outlines?region=${OTHER}`, { key });
    assert.equal(forbidden.status, 403, 'the API refuses another region to this key');
    await signIn(page, key);
    const drawn = await gridsDrawn(page);
    assert.equal(drawn, own.length, `the map draws exactly 320612's ${own.length} grids`);
    assert.ok(outlineCodes.length > 0, 'the page loaded outlines');
    const strangers = outlineCodes.filter((c) => !c.startsWith(OWN));
    assert.deepEqual(strangers.slice(0, 5), [], 'every outline the page received lies in 320612');
    const otherGrid = otherCase.gridCode;
    const point = await page.evaluate((c) => {
      try {
        return window.__wangge.pointOf(c) ?? null;
      } catch {
        return null;
      }
    }, otherGrid);
    assert.equal(point, null, `pointOf(${otherGrid}) finds no drawn grid of another district`);
    // Searching another district's grid by its code does not show it.
    const box = await visible(page, 'map-search');
    await box.click({ clickCount: 3 });
    await box.type(otherGrid);
    await box.press('Enter');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const shown = await page.$eval(tid('map'), (m) => m.closest('body').querySelector('[data-testid="grid-panel"]')?.getAttribute('data-grid-code') ?? null);
    assert.notEqual(shown, otherGrid, `the grid panel does not show ${otherGrid}`);
    await shot(page, 'region-map');
  });
});

test("the board shows 320612's cases and none of another district; another district's case page is refused", async () => {
  await failingOn('region-board', async () => {
    if (!page.url().startsWith(CONSOLE)) await signIn(page, key); // when an earlier test of the file failed early
    await route(page, '#/board');
    await visible(page, 'board');
    await page.waitForSelector(tid(`case-${ownCase.case_id}`), { visible: true, timeout: 10_000 });
    // Wait past one refresh (3 s) before looking for strangers.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const shown = await page.$$eval('[data-testid^="case-"]', (cards) =>
      cards.map((c) => c.getAttribute('data-testid').slice('case-'.length)).filter((id) => /^[0-9a-f-]{36}$/.test(id)),
    );
    assert.ok(!shown.includes(otherCase.case_id), "320613's case is not on 320612's board");
    for (const id of shown) {
      const read = await api('GET', `/v1/cases/${id}`);
      assert.ok(read.json?.community?.startsWith(OWN), `case ${id} on the board lies in ${OWN} (${read.json?.community})`);
    }

    const refusal = await api('GET', `/v1/cases/${otherCase.case_id}`, { key });
    assert.equal(refusal.status, 403, 'the API refuses the other district case to this key');
    await route(page, `#/cases/${otherCase.case_id}`);
    // Some visible alert says the refusal (the contract names no element for it).
    const said = await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('[role="alert"]'))
          .filter((e) => e.offsetParent !== null && e.innerText.trim())
          .map((e) => e.innerText.trim())
          .join(' | ') || null,
      { timeout: 10_000 },
    );
    const text = await said.jsonValue();
    assert.ok(text.length > 0, 'the refusal is said');
    assert.equal(await page.$(tid('case-state')), null, 'no case state is shown');
    assert.equal(await page.$(tid('case-log')), null, 'no case log is shown');
    const body = await page.evaluate(() => document.body.innerText);
    assert.ok(!body.includes('崇川区餐饮油烟'), "the other district's report text is not shown");
    await shot(page, 'region-refused');
  });
});

test("the scores page of a key bound to 320612 ranks only 320612's towns and grids", async () => {
  await failingOn('region-scores', async () => {
    if (!page.url().startsWith(CONSOLE)) await signIn(page, key); // when an earlier test of the file failed early
    await route(page, '#/scores');
    await visible(page, 'scores');
    // The first table (grids) first, as a person would; scores.test.js covers changing it sooner.
    await page.waitForFunction((sel) => document.querySelectorAll(`${sel} [data-testid^="rank-"]`).length > 0, {}, tid('rankings'));
    await page.waitForNetworkIdle({ idleTime: 300, timeout: 15_000 });
    for (const level of ['town', 'community']) {
      await page.select(tid('scores-level'), level);
      await page.waitForFunction(
        (sel, l) => {
          const rows = document.querySelectorAll(`${sel} [data-testid^="rank-"]`);
          // The level's codes: a town ends in 000, a community does not.
          return rows.length > 0 && Array.from(rows).every((r) => r.getAttribute('data-testid').endsWith('000') === (l === 'town'));
        },
        { timeout: 15_000 },
        tid('rankings'),
        level,
      );
      const codes = await page.$$eval(`${tid('rankings')} [data-testid^="rank-"]`, (rows) =>
        rows.map((r) => r.getAttribute('data-testid').slice('rank-'.length)),
      );
      const strangers = codes.filter((c) => !c.startsWith(OWN));
      assert.deepEqual(strangers, [], `${level}: every ranked code lies in ${OWN}`);
      const answer = await apiOk('GET', `/v1/assessments/${thisMonth()}/rankings?level=${level}`, { key }, 200);
      assert.deepEqual(codes, answer.items.map((i) => i.code), `${level}: the rows the API answers this key`);
    }
  });
});
