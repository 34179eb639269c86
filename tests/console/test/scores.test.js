// Issue 17, "the rankings page matches the API": after an assessment run, each row
// `rank-<code>` of the scores page carries the score and rank that
// GET /v1/assessments/{period}/rankings?level= answers, for the district, town and community levels.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BASE, OPERATOR_KEY, ROOT, apiOk, postEvent, route, shot, thisMonth, failing, signedIn, tid, visible } from '../lib.js';

const PERIOD = thisMonth();

let browser;
let page;
const events = [];
before(async () => {
  // Residents' reports cost their grids points (missed discovery), so the scores differ.
  // (B05 暴露垃圾: a matter grid staff should find on patrol.)
  for (const [region, offset] of [['320681', 0], ['320681', 3], ['320682', 2], ['320685', 2], ['320612', 5]]) {
    events.push(await postEvent(region, { category: 'B05', offset, description: '控制台测试：绿化带垃圾堆积' }));
  }
  const run = await apiOk('POST', `/v1/assessments/${PERIOD}/run`, {}, [200, 201]);
  assert.ok(run.result_sha256, `the assessment of ${PERIOD} ran`);
  ({ browser, page } = await signedIn());
});
after(async () => {
  await browser?.close();
});

/**
 * Sets the level and the period on the page and submits (Enter in the period field); waits until
 * the rankings table holds the rows of that level (codes the API answers for it); answers them.
 */
async function show(level, codes) {
  await page.select(tid('scores-level'), level);
  const period = await visible(page, 'scores-period');
  await period.click({ clickCount: 3 });
  await period.type(PERIOD);
  await period.press('Enter');
  await page.waitForFunction(
    (sel, wanted, least) => {
      const rows = Array.from(document.querySelectorAll(`${sel} [data-testid^="rank-"]`));
      const known = new Set(wanted);
      return rows.length >= least && rows.every((r) => known.has(r.getAttribute('data-testid').slice('rank-'.length)));
    },
    { timeout: 10_000 },
    tid('rankings'),
    codes,
    Math.min(codes.length, 20),
  );
  return page.$$eval(`${tid('rankings')} [data-testid^="rank-"]`, (rows) =>
    rows.map((r) => ({
      code: r.getAttribute('data-testid').slice('rank-'.length),
      score: r.getAttribute('data-score'),
      rank: r.getAttribute('data-rank'),
    })),
  );
}

test('the rankings page matches the API at the district, town and community levels', async () => {
  await failing(page, 'scores', async () => {
    await route(page, '#/scores');
    await visible(page, 'scores');
    // As a person would: let the page's first table (this month's grids) arrive before asking for another.
    await page.waitForFunction(
      (sel) => document.querySelectorAll(`${sel} [data-testid^="rank-"]`).length > 0,
      { timeout: 15_000 },
      tid('rankings'),
    );
    for (const level of ['district', 'town', 'community']) {
      const answer = await apiOk('GET', `/v1/assessments/${PERIOD}/rankings?level=${level}`, {}, 200);
      const byCode = new Map(answer.items.map((item) => [item.code, item]));
      const rows = await show(level, answer.items.map((i) => i.code));
      assert.ok(
        rows.length >= Math.min(answer.items.length, 20),
        `${level}: the page lists ${rows.length} of the API's ${answer.items.length} rows`,
      );
      for (const row of rows) {
        const item = byCode.get(row.code);
        assert.ok(item, `${level}: row ${row.code} is in the API's rankings`);
        assert.equal(Number(row.score), item.score, `${level} ${row.code}: data-score ${row.score} = ${item.score}`);
        assert.equal(Number(row.rank), item.rank, `${level} ${row.code}: data-rank ${row.rank} = ${item.rank}`);
      }
      const pageOrder = rows.map((r) => r.code);
      const apiOrder = answer.items.map((i) => i.code).filter((c) => pageOrder.includes(c));
      assert.deepEqual(pageOrder, apiOrder, `${level}: the page ranks in the API's order`);
      if (level === 'district') {
        assert.equal(rows.length, answer.items.length, 'every district is listed');
        await visible(page, 'chart-statistics');
        await visible(page, 'chart-departments');
        const csv = await visible(page, 'export-csv');
        const tag = await csv.evaluate((e) => e.tagName.toLowerCase());
        assert.ok(['a', 'button'].includes(tag), `the CSV export is a link or a button (${tag})`);
        await page.evaluate(() => document.activeElement?.blur());
        await shot(page, 'scores');
      }
    }
    // Scores differ somewhere: the comparison above is not of a page of equal 100s only.
    const communities = await apiOk('GET', `/v1/assessments/${PERIOD}/rankings?level=community`, {}, 200);
    assert.ok(communities.items.some((i) => i.score < 100), 'some community lost points');
  });
});

test("a grid's deductions, each linked to its case, and the CSV export downloads the API's file", async () => {
  await failing(page, 'deductions', async () => {
    await route(page, '#/scores');
    await visible(page, 'scores');
    const event = events[0];
    const codes = (await apiOk('GET', `/v1/assessments/${PERIOD}/rankings?level=grid`, {}, 200)).items.map((i) => i.code);
    await show('grid', codes);
    // The grid charged for the case: its responsible grid, or the comprehensive one.
    let charged = null;
    let deductions = [];
    for (const code of new Set([event.grid?.responsible?.code, event.grid?.comprehensive?.code, event.gridCode])) {
      if (!code) continue;
      const answer = await apiOk('GET', `/v1/assessments/${PERIOD}/grids/${code}`, {}, 200);
      if (answer.deductions.some((d) => d.case_id === event.case_id)) {
        charged = code;
        deductions = answer.deductions;
        break;
      }
    }
    assert.ok(charged, `the API charges a grid of case ${event.case_id} for it: ${JSON.stringify(event.grid)}`);
    await page.$eval(`${tid(`rank-${charged}`)} button`, (b) => b.click());
    await page.waitForSelector(`${tid('deductions')}[data-grid-code="${charged}"]`, { visible: true });
    const rows = await page.$$eval(`${tid('deductions')} ${tid('deduction')}`, (rs) =>
      rs.map((r) => ({ caseId: r.getAttribute('data-case-id'), href: r.querySelector('a')?.getAttribute('href') ?? '' })),
    );
    assert.equal(rows.length, deductions.length, 'one row per deduction of the API');
    const row = rows.find((r) => r.caseId === event.case_id);
    assert.ok(row, `the deduction for case ${event.case_id} is listed`);
    assert.equal(row.href, `#/cases/${event.case_id}`, 'the deduction links to its case');

    // The CSV export: a real download, byte for byte the API's export of the level shown.
    const downloads = join(ROOT, 'target', 'console-downloads');
    rmSync(downloads, { recursive: true, force: true });
    mkdirSync(downloads, { recursive: true });
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await page.select(tid('scores-level'), 'district');
    await page.click(tid('export-csv'));
    const deadline = Date.now() + 10_000;
    let files = [];
    while (Date.now() < deadline) {
      files = readdirSync(downloads).filter((f) => f.endsWith('.csv'));
      if (files.length) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(files.length, 1, `one CSV downloaded (${readdirSync(downloads)})`);
    const expected = await fetch(`${BASE}/v1/assessments/${PERIOD}/export.csv?level=district`, {
      headers: { authorization: `Bearer ${OPERATOR_KEY}` },
    }).then((r) => r.arrayBuffer());
    const got = readFileSync(join(downloads, files[0]));
    assert.ok(got.equals(Buffer.from(expected)), `the download equals the API's export (${got.length} and ${expected.byteLength} bytes)`);
    assert.ok(got.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), 'UTF-8 with a BOM, for Excel');
  });
});

test('a level chosen while the first table is still loading is the level shown', async () => {
  await failing(page, 'scores-race', async () => {
    await route(page, '#/map');
    await visible(page, 'map');
    // A slow network for the first table (this month's 9,207 grids): its answer comes 1.5 s late.
    const slow = (request) => {
      if (request.isInterceptResolutionHandled()) return;
      if (request.url().includes('/rankings?level=grid')) setTimeout(() => request.continue().catch(() => {}), 1_500);
      else request.continue();
    };
    await page.setRequestInterception(true);
    page.on('request', slow);
    try {
      // Open the scores and choose the districts before the grids arrive.
      await route(page, '#/scores');
      await visible(page, 'scores-level');
      await page.select(tid('scores-level'), 'district');
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await page.waitForNetworkIdle({ idleTime: 500, timeout: 20_000 });
    } finally {
      page.off('request', slow);
      await page.setRequestInterception(false);
    }
    const answer = await apiOk('GET', `/v1/assessments/${PERIOD}/rankings?level=district`, {}, 200);
    const rows = await page.$$eval(`${tid('rankings')} [data-testid^="rank-"]`, (rs) =>
      rs.map((r) => r.getAttribute('data-testid').slice('rank-'.length)),
    );
    assert.equal(await page.$eval(tid('scores-level'), (s) => s.value), 'district', 'the select still says district');
    const wanted = answer.items.map((i) => i.code);
    assert.ok(
      rows.length === wanted.length && rows.every((c, i) => c === wanted[i]),
      `the table lists the ${wanted.length} districts, not the grids asked for first: ${rows.length} rows (${rows.slice(0, 3)}, …)`,
    );
  });
});
