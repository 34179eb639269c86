// Smart dispatch (智能派单) on the case page: a hotline order with no category hint that the
// classifier is unsure of lands in Z99 with three suggestions; the page shows the model's note
// and one 改类 button per suggestion, and a click recategorizes the case (API and log agree).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiOk, route, shot, textOf, tid, visible, failing, signedIn } from '../lib.js';

let browser;
let page;
before(async () => {
  ({ browser, page } = await signedIn());
});
after(async () => {
  await browser?.close();
});

/** Now in Asia/Shanghai as an RFC 3339 time with +08:00 (as the hotline sends it). */
function shanghaiNow() {
  const d = new Date(Date.now() + 8 * 3600_000);
  return `${d.toISOString().slice(0, 19)}+08:00`;
}

/** Texts that say nothing of the matter: the classifier should be unsure of at least one. */
const VAGUE = ['说不清楚是什么事，反正很烦', '就是那个事情，你们看着办吧', '有个情况想反映一下', '麻烦你们来看看', '嗯嗯啊啊', '？？？'];

/** Posts hotline orders with no category hint until one lands in Z99 (category_from: triage). */
async function unsureOrder() {
  const seen = [];
  for (const [i, content] of VAGUE.entries()) {
    const order = {
      order_no: `CT-TRIAGE-${Date.now()}-${i}`,
      request_type: '投诉',
      caller: { name: '赵六', phone: '13700001111' },
      address: '江苏省南通市崇川区新江街道建设街24号',
      content,
      received_at: shanghaiNow(),
    };
    const answer = await apiOk('POST', '/v1/hotline/work-orders', { body: { orders: [order] } }, 200);
    const result = answer.results[0];
    seen.push({ content, category_from: result.category_from, category: result.category, status: result.status });
    if (result.category_from === 'triage' && result.case_id) return { ...result, content };
  }
  throw new Error(`no vague text went to Z99 (category_from "triage"): ${JSON.stringify(seen)}`);
}

test('an unsure hotline order shows the model note and its suggestions; a 改类 click recategorizes the case', async () => {
  await failing(page, 'triage', async () => {
    const order = await unsureOrder();
    const before = await apiOk('GET', `/v1/cases/${order.case_id}`, {}, 200);
    assert.equal(before.category, 'Z99', 'an unsure order waits in Z99');
    assert.ok(before.triage, `the case carries its triage note: ${JSON.stringify(before)}`);
    const suggestions = before.triage.suggestions;
    assert.equal(suggestions.length, 3, 'three suggestions');

    await route(page, `#/cases/${order.case_id}`);
    await visible(page, 'case-page');
    await page.waitForFunction((sel, s) => document.querySelector(sel)?.getAttribute('data-state') === s, { timeout: 10_000 },
      tid('case-state'), before.state);
    const note = await visible(page, 'triage-note');
    const noteText = await note.evaluate((e) => e.textContent);
    assert.ok(noteText.includes(before.triage.model), `the note names the model ${before.triage.model}: "${noteText}"`);
    const pct = `${Math.round(before.triage.confidence * 100)}%`;
    assert.ok(noteText.includes(pct), `the note shows the confidence ${pct}: "${noteText}"`);

    const buttons = await page.$$eval('button[data-testid^="recategorize-"]:not([data-testid="recategorize-other"])',
      (bs) => bs.map((b) => ({ id: b.getAttribute('data-testid'), text: b.textContent })));
    assert.deepEqual(buttons.map((b) => b.id), suggestions.map((s) => `recategorize-${s.category}`),
      'one button per suggestion, in the model\'s order');
    const categories = new Map((await apiOk('GET', '/v1/categories', {}, 200)).categories.map((c) => [c.code, c.name]));
    for (const [i, s] of suggestions.entries()) {
      const want = `${s.category} ${categories.get(s.category)} (${Math.round(s.score * 100)}%)`;
      assert.ok(buttons[i].text.includes(want), `the button says "${want}": "${buttons[i].text}"`);
    }
    await visible(page, 'recategorize-other');

    // The first suggestion other than the case's own category (Z99 itself is not offered as a change).
    const target = suggestions.find((s) => s.category !== before.category).category;
    await (await visible(page, `recategorize-${target}`)).click();
    await page.waitForSelector(`${tid('case-log')} ${tid('log-entry')}[data-action="recategorize"]`, { visible: true, timeout: 10_000 });
    const after = await apiOk('GET', `/v1/cases/${order.case_id}`, {}, 200);
    assert.equal(after.category, target, 'the API has the new category');
    assert.equal(after.state, before.state, 'recategorize keeps the state');
    const log = await apiOk('GET', `/v1/cases/${order.case_id}/log`, {}, 200);
    const entries = log.entries.filter((e) => e.action === 'recategorize');
    assert.equal(entries.length, 1, `the log has one recategorize: ${JSON.stringify(log.entries)}`);
    assert.equal(entries[0].role, 'centre', 'taken as a centre');
    assert.equal(log.verification.valid, true, 'the chain holds');
    await page.waitForFunction((sel, c) => document.querySelector(sel)?.getAttribute('data-category') === c, { timeout: 10_000 },
      tid('case-category'), target);
    assert.ok((await textOf(page, 'case-page')).includes(target), 'the page shows the new category');

    // A stale 改类 (recategorized behind the page's back) is refused, and the refusal shown.
    const other = suggestions.find((s) => s.category !== target && s.category !== before.category)?.category;
    if (other) {
      const body = { action: 'recategorize', actor: { kind: 'centre', id: '3206' }, category: 'B05' === target ? 'B04' : 'B05' };
      await apiOk('POST', `/v1/cases/${order.case_id}/actions`, { body }, [200, 201]);
      await (await visible(page, `recategorize-${other}`)).click();
      await visible(page, 'action-error', 10_000);
    }
    await shot(page, 'triage');
  });
});
