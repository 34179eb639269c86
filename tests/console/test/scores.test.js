// Issue 17, "the rankings page matches the API": after an assessment run, each row
// `rank-<code>` of the scores page carries the score and rank that
// GET /v1/assessments/{period}/rankings?level= answers, for the district, town and community levels.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiOk, launch, newPage, postEvent, route, shot, signIn, thisMonth, tid, visible } from '../lib.js';

const PERIOD = thisMonth();

let browser;
let page;
before(async () => {
  // Residents' reports cost their grids points (missed discovery), so the scores differ.
  for (const [region, offset] of [['320681', 0], ['320681', 3], ['320682', 1], ['320685', 2], ['320612', 5]]) {
    await postEvent(region, { category: 'B04', offset, description: '控制台测试：夜间施工噪声扰民' });
  }
  const run = await apiOk('POST', `/v1/assessments/${PERIOD}/run`, {}, [200, 201]);
  assert.ok(run.result_sha256, `the assessment of ${PERIOD} ran`);
  browser = await launch();
  page = await newPage(browser);
  await signIn(page);
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
  try {
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
        await shot(page, 'scores');
      }
    }
    // Scores differ somewhere: the comparison above is not of a page of equal 100s only.
    const communities = await apiOk('GET', `/v1/assessments/${PERIOD}/rankings?level=community`, {}, 200);
    assert.ok(communities.items.some((i) => i.score < 100), 'some community lost points');
  } catch (error) {
    await shot(page, 'scores-failure').catch(() => {});
    error.message += `\npage errors: ${JSON.stringify(page.errors)}`;
    throw error;
  }
});
