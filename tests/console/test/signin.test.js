// Issue 17, "sign in with an API key": a wrong key is refused with a clear message; the right one
// opens the map; the key lives in sessionStorage only (never localStorage, never a URL); sign-out
// forgets it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CONSOLE, OPERATOR_KEY, launch, newPage, shot, textOf, tid, visible, failingThenClose } from '../lib.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Every value kept in one of the page's storages (`localStorage` or `sessionStorage`). */
function stored(page, storage) {
  return page.evaluate((name) => {
    const s = window[name];
    return Array.from({ length: s.length }, (_, i) => `${s.key(i)}=${s.getItem(s.key(i))}`);
  }, storage);
}

test('sign in: a wrong key gets a clear message, the right key the map; the key stays in sessionStorage; sign-out forgets it', async () => {
  const page = await newPage(browser);
  const urls = [];
  page.on('request', (request) => urls.push(request.url()));
  await failingThenClose(page, 'signin', async () => {
    await page.goto(`${CONSOLE}#/signin`, { waitUntil: 'load' });
    await visible(page, 'signin');
    const label = await page.$eval('label[for="api-key"]', (l) => l.innerText.trim());
    assert.ok(label.length > 0, 'the key input has a label');
    assert.equal(await page.$eval('#api-key', (i) => i.type), 'password', 'the key is typed into a password field');
    await shot(page, 'signin');

    // A wrong key: a clear message, as an alert, and no way in.
    await page.type('#api-key', 'not-a-key-0123456789');
    await page.click(tid('signin-submit'));
    const error = await visible(page, 'signin-error');
    assert.equal(await error.evaluate((e) => e.getAttribute('role')), 'alert', 'signin-error has role="alert"');
    const message = await textOf(page, 'signin-error');
    assert.match(message, /密钥|key/i, `the message names the key: "${message}"`);
    assert.ok(page.url().includes('#/signin'), `a wrong key stays on the sign-in page (${page.url()})`);
    await shot(page, 'signin-error');

    // The right key: the map.
    await page.click('#api-key', { clickCount: 3 });
    await page.type('#api-key', OPERATOR_KEY);
    await page.click(tid('signin-submit'));
    await page.waitForFunction(() => location.hash.startsWith('#/map'));
    await visible(page, 'map');
    assert.equal(await page.$(tid('signin-error')), null, 'no error once signed in');

    // Where the key is, and where it is not.
    const session = await stored(page, 'sessionStorage');
    const local = await stored(page, 'localStorage');
    assert.ok(session.some((kv) => kv.includes(OPERATOR_KEY)), 'the key is kept in sessionStorage');
    assert.ok(!local.some((kv) => kv.includes(OPERATOR_KEY)), `the key is not in localStorage: ${local}`);
    const cookies = await page.cookies();
    assert.ok(!cookies.some((c) => c.value.includes(OPERATOR_KEY)), 'the key is not in a cookie');
    assert.ok(!page.url().includes(OPERATOR_KEY), 'the key is not in the address bar');
    const leaking = urls.filter((u) => u.includes(OPERATOR_KEY) || u.includes(encodeURIComponent(OPERATOR_KEY)));
    assert.deepEqual(leaking, [], 'no request URL carries the key');

    // Sign-out forgets it and returns to #/signin; the map then asks for a key again.
    await page.click(tid('signout'));
    await page.waitForFunction(() => location.hash.startsWith('#/signin'));
    await visible(page, 'signin');
    const afterSession = await stored(page, 'sessionStorage');
    assert.ok(!afterSession.some((kv) => kv.includes(OPERATOR_KEY)), 'sign-out removes the key from sessionStorage');
    await page.evaluate(() => {
      location.hash = '#/map';
    });
    await page.waitForFunction(() => location.hash.startsWith('#/signin'), { timeout: 5_000 });
    await visible(page, 'signin');
    assert.deepEqual(page.errors.filter((e) => e.startsWith('pageerror')), [], 'no uncaught error in the page');
  });
});
