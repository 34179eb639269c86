// Issue 17, "accessibility and bad input": keyboard navigation works and labels are present; a
// network failure shows a retry banner, never a blank page; Chinese first with an English toggle.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CONSOLE, OPERATOR_KEY, launch, newPage, postEvent, route, shot, signIn, tid, visible, failingThenClose } from '../lib.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** What has the focus: its id or data-testid. */
const focused = (page) =>
  page.evaluate(() => {
    const e = document.activeElement;
    return e ? e.getAttribute('data-testid') || (e.id ? `#${e.id}` : e.tagName.toLowerCase()) : null;
  });

/** Presses Tab until `want` has the focus (at most `limit` times); answers every stop. */
async function tabTo(page, want, limit = 40, back = false) {
  const stops = [];
  for (let i = 0; i < limit; i++) {
    if (back) await page.keyboard.down('Shift');
    await page.keyboard.press('Tab');
    if (back) await page.keyboard.up('Shift');
    const now = await focused(page);
    stops.push(now);
    if (now === want) return stops;
  }
  throw new Error(`Tab never reached ${want}; stops: ${stops.join(', ')}`);
}

/** The visible form controls of the page that have no label (label, aria-label or aria-labelledby). */
const unlabelled = (page) =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll('input, select, textarea'))
      .filter((e) => e.type !== 'hidden' && e.offsetParent !== null)
      .filter((e) => {
        const labelled = (e.labels && e.labels.length > 0) || e.getAttribute('aria-label')?.trim();
        const by = e.getAttribute('aria-labelledby');
        return !(labelled || (by && by.split(/\s+/).some((id) => document.getElementById(id)?.innerText.trim())));
      })
      .map((e) => e.getAttribute('data-testid') || e.id || e.name || e.outerHTML.slice(0, 80)),
  );

test('the keyboard alone signs in: Tab reaches the key and the submit button, Enter submits; nav links take the focus', async () => {
  const page = await newPage(browser);
  await failingThenClose(page, 'keyboard', async () => {
    await page.goto(`${CONSOLE}#/signin`, { waitUntil: 'load' });
    await visible(page, 'signin');
    await tabTo(page, '#api-key');
    await page.keyboard.type(OPERATOR_KEY);
    await tabTo(page, 'signin-submit', 10);
    await tabTo(page, '#api-key', 10, true); // Shift+Tab back to the key, and Enter submits from it
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.startsWith('#/map'), { timeout: 10_000 });
    await visible(page, 'map');
    // From the top of a fresh load, Tab reaches each navigation link, and Enter on one follows it.
    await page.reload({ waitUntil: 'load' });
    await visible(page, 'map');
    for (const nav of ['nav-map', 'nav-board', 'nav-scores']) {
      const tag = await page.$eval(tid(nav), (e) => e.tagName.toLowerCase());
      assert.ok(['a', 'button'].includes(tag), `${nav} is a real link or button (${tag})`);
    }
    await tabTo(page, 'nav-board', 60);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.startsWith('#/board'), { timeout: 5_000 });
    await visible(page, 'board');
    await page.focus(tid('nav-board'));
    await tabTo(page, 'nav-scores', 10);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.startsWith('#/scores'), { timeout: 5_000 });
    await visible(page, 'scores');
  });
});

/** The visible links and buttons of the page with no accessible name (text, aria-label or title). */
const nameless = (page) =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll('a[href], button, [role="button"]'))
      .filter((e) => e.offsetParent !== null)
      .filter((e) => !(e.innerText.trim() || e.getAttribute('aria-label')?.trim() || e.getAttribute('title')?.trim()))
      .map((e) => e.getAttribute('data-testid') || e.outerHTML.slice(0, 80)),
  );

/** Both checks on the page now shown: answers what lacks a label or a name. */
const lacking = async (page) => [...(await unlabelled(page)), ...(await nameless(page))];

test('every visible input and select has a label, and every link and button a name, on each page', async () => {
  const page = await newPage(browser);
  await failingThenClose(page, 'labels', async () => {
    await page.goto(`${CONSOLE}#/signin`, { waitUntil: 'load' });
    await visible(page, 'signin');
    assert.deepEqual(await lacking(page), [], 'sign-in: every control is labelled');
    await signIn(page);
    await page.waitForFunction(() => document.body.dataset.gridsDrawn);
    assert.deepEqual(await lacking(page), [], 'map: every control is labelled');
    await route(page, '#/board');
    await visible(page, 'board');
    assert.deepEqual(await lacking(page), [], 'board: every control is labelled');
    await route(page, '#/scores');
    await visible(page, 'scores');
    assert.deepEqual(await lacking(page), [], 'scores: every control is labelled');
    const event = await postEvent('320685', { category: 'B05', offset: 4, description: '控制台测试：楼道堆放垃圾' });
    await route(page, `#/cases/${event.case_id}`);
    await visible(page, 'case-page');
    await visible(page, 'action-accept');
    assert.deepEqual(await lacking(page), [], 'case page: every control is labelled');
  });
});

test('zh-CN by default, and the toggle switches to English and back', async () => {
  const page = await newPage(browser);
  await failingThenClose(page, 'lang', async () => {
    await page.goto(`${CONSOLE}#/signin`, { waitUntil: 'load' });
    await visible(page, 'signin');
    const lang = () => page.evaluate(() => document.documentElement.lang);
    assert.equal(await lang(), 'zh-CN', 'Chinese first');
    const zhLabel = await page.$eval('label[for="api-key"]', (l) => l.innerText.trim());
    await page.click(tid('lang-toggle'));
    await page.waitForFunction(() => document.documentElement.lang === 'en', { timeout: 5_000 });
    const enLabel = await page.$eval('label[for="api-key"]', (l) => l.innerText.trim());
    assert.notEqual(enLabel, zhLabel, `the label is translated (${zhLabel} → ${enLabel})`);
    assert.match(enLabel, /[A-Za-z]/, 'the English label is in English');
    await page.click(tid('lang-toggle'));
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN', { timeout: 5_000 });
  });
});

test('a network failure shows the retry banner and keeps the page; retry recovers', async () => {
  const page = await newPage(browser);
  await failingThenClose(page, 'network-banner', async () => {
    await signIn(page);
    await route(page, '#/board');
    await visible(page, 'board');
    // The API stops answering: every /v1/ call fails as a dropped connection would.
    let down = true;
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (request.isInterceptResolutionHandled()) return;
      if (down && new URL(request.url()).pathname.startsWith('/v1/')) request.abort('connectionrefused');
      else request.continue();
    });
    const banner = await visible(page, 'network-banner', 10_000); // the board refreshes every 3 s
    assert.equal(await banner.evaluate((e) => e.getAttribute('role')), 'alert', 'network-banner has role="alert"');
    await visible(page, 'network-retry');
    await visible(page, 'board');
    const text = await page.evaluate(() => document.body.innerText.trim());
    assert.ok(text.length > 20, 'the page is not blank');
    await shot(page, 'network-banner');
    // Navigating while down still shows something, never a blank page.
    await route(page, '#/scores');
    await visible(page, 'scores');
    await visible(page, 'network-banner');
    // The network is back: retry hides the banner.
    down = false;
    await page.click(tid('network-retry'));
    await page.waitForSelector(tid('network-banner'), { hidden: true, timeout: 10_000 });
  });
});
