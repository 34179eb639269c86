// Issue 17, "a region-bound key cannot see another region's grids or cases": a key bound to
// 通州区 (320612) signs in; the map draws only 320612's grids, the board shows no case of another
// district, and another district's case by its address (#/cases/<id>) is refused, not shown.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, gridsDrawn, launch, newPage, outlines, postEvent, regionKey, route, shot, signIn, tid, visible } from '../lib.js';

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

async function failing(name, body) {
  try {
    await body();
  } catch (error) {
    await shot(page, `${name}-failure`).catch(() => {});
    error.message += `\npage errors: ${JSON.stringify(page.errors)}`;
    throw error;
  }
}

test('a key bound to 320612 sees only its grids on the map', async () => {
  await failing('region-map', async () => {
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
    await shot(page, 'region-map');
  });
});

test("the board shows 320612's cases and none of another district; another district's case page is refused", async () => {
  await failing('region-board', async () => {
    if (!(await page.$(tid('map')))) await signIn(page, key);
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
