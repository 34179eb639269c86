// Shared helpers of the console's browser tests: the suite's API (with fetch), Chromium through
// puppeteer-core, signing in, screenshots, points inside grids. The suite is started by
// scripts/console-test.sh, which passes WANGGE_URL, WANGGE_OPERATOR_KEY and WANGGE_CHROMIUM.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

/** The repository's root (this file is tests/console/lib.js). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where each test writes its screenshots (scripts/console-test.sh copies the README's ones). */
export const SHOTS = join(ROOT, 'target', 'console-screenshots');

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests with scripts/console-test.sh`);
  return value;
}

/** The suite's base URL, e.g. http://127.0.0.1:40123. */
export const BASE = required('WANGGE_URL').replace(/\/$/, '');
/** The operator key (every scope, every region). */
export const OPERATOR_KEY = required('WANGGE_OPERATOR_KEY');
/** The console's address. */
export const CONSOLE = `${BASE}/console/`;
/** The city this deployment serves (the Spin variable `jurisdiction`'s default). */
export const CITY = '3206';

/** This month in Asia/Shanghai, `YYYY-MM` (the assessment period the tests run). */
export function thisMonth() {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit' })
    .formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get('year')}-${get('month')}`;
}

/**
 * One call to the public API: `{status, headers, body, json}`.
 * @param {string} method
 * @param {string} path e.g. `/v1/events`
 * @param {{key?: string, body?: unknown}} [options]
 */
export async function api(method, path, { key = OPERATOR_KEY, body } = {}) {
  const headers = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: response.status, headers: response.headers, body: text, json };
}

/** Like {@link api} but fails the test unless the status is `expected`; answers the JSON. */
export async function apiOk(method, path, options = {}, expected = [200, 201]) {
  const answer = await api(method, path, options);
  const wanted = Array.isArray(expected) ? expected : [expected];
  assert.ok(wanted.includes(answer.status), `${method} ${path}: ${answer.status} ${answer.body.slice(0, 500)}`);
  return answer.json;
}

/** A key bound to `region` (e.g. a district `320612`) with a centre's scopes; answers its token. */
export async function regionKey(region, name = `测试指挥中心 ${region}`) {
  const scopes = ['events:read', 'cases:read', 'cases:act', 'grids:read', 'assessments:read', 'notifications:read'];
  const made = await apiOk('POST', '/v1/keys', { body: { name, scopes, region_prefix: region } }, 201);
  assert.ok(made.token, 'POST /v1/keys answers the token');
  return made.token;
}

/** The outlines the console draws for `region` (the new grid-lookup route), as the API answers. */
export async function outlines(region, key = OPERATOR_KEY) {
  const collection = await apiOk('GET', `/v1/grids/outlines?region=${region}`, { key }, 200);
  assert.equal(collection.type, 'FeatureCollection', 'the outlines are a GeoJSON FeatureCollection');
  return collection.features;
}

/** The first grid under `region` (`GET /v1/grids?region=`): its code and geometry. */
export async function firstGrid(region, offset = 0) {
  const page = await apiOk('GET', `/v1/grids?region=${region}&kind=comprehensive&limit=${offset + 1}`, {}, 200);
  const code = page.items[offset].code;
  const grid = await apiOk('GET', `/v1/grids/${code}`, {}, 200);
  return { code, geometry: grid.geometry, name: grid.grid.name };
}

/** A WGS-84 point that grid-lookup places in grid `code` (the vertex mean, else points toward vertices). */
export async function pointInGrid(code, geometry) {
  const ring = geometry.type === 'Polygon' ? geometry.coordinates[0] : geometry.coordinates[0][0];
  const vertices = ring.slice(0, -1);
  const mean = vertices.reduce(([x, y], [a, b]) => [x + a / vertices.length, y + b / vertices.length], [0, 0]);
  const candidates = [mean];
  for (const t of [0.5, 0.25, 0.75]) {
    for (let i = 0; i < vertices.length; i++) {
      const [a, b] = vertices[i];
      const [c, d] = vertices[(i + 1) % vertices.length];
      const edge = [(a + c) / 2, (b + d) / 2];
      candidates.push([mean[0] + (edge[0] - mean[0]) * t, mean[1] + (edge[1] - mean[1]) * t]);
    }
  }
  for (const [lng, lat] of candidates.slice(0, 40)) {
    const p = [Number(lng.toFixed(6)), Number(lat.toFixed(6))];
    const found = await api('GET', `/v1/grids/locate?lng=${p[0]}&lat=${p[1]}&crs=wgs84`);
    if (found.status === 200 && found.json?.comprehensive?.code === code) return p;
  }
  throw new Error(`no point found inside grid ${code}`);
}

/**
 * Posts a resident's report in the first comprehensive grid of `region` (the `offset`-th),
 * as an integrator would (`POST /v1/events`); answers the intake's answer plus `grid`.
 */
export async function postEvent(region, { category = 'B05', offset = 0, description = '小区门口垃圾堆积' } = {}) {
  const grid = await firstGrid(region, offset);
  const [lng, lat] = await pointInGrid(grid.code, grid.geometry);
  const body = {
    source: 'resident',
    reporter: { name: '王小明', phone: '13812345678' },
    category,
    description,
    location: { lng, lat, crs: 'wgs84', accuracy: 5 },
    external_id: `console-test-${Date.now()}-${Math.random().toString(16).slice(2, 10)}`,
  };
  const answer = await apiOk('POST', '/v1/events', { body }, 201);
  assert.ok(answer.case_id, `the event became a case: ${JSON.stringify(answer)}`);
  return { ...answer, gridCode: grid.code };
}

/** Launches Debian's Chromium, headless (root: no sandbox). */
export async function launch() {
  return puppeteer.launch({
    executablePath: process.env.WANGGE_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--lang=zh-CN', '--window-size=1366,900'],
    defaultViewport: { width: 1366, height: 900 },
    protocolTimeout: 60_000,
    // The browser's own zone is UTC, so a date shown in Asia/Shanghai is the page's doing.
    env: { ...process.env, TZ: 'UTC' },
  });
}

/**
 * A new tab whose page errors are collected in `page.errors` (uncaught exceptions and console
 * errors), so a test can show them when it fails.
 */
export async function newPage(browser) {
  const page = await browser.newPage();
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') page.errors.push(`console: ${message.text()}`);
  });
  page.setDefaultTimeout(15_000);
  return page;
}

/** The element with `data-testid="<id>"` (a CSS selector). */
export const tid = (id) => `[data-testid="${id}"]`;

/** Waits until the element `data-testid=<id>` is visible; answers its handle. */
export async function visible(page, id, timeout = 15_000) {
  return page.waitForSelector(tid(id), { visible: true, timeout });
}

/** Opens the console at `#/signin`, signs in with `key` and waits for the map route. */
export async function signIn(page, key = OPERATOR_KEY) {
  await page.goto(`${CONSOLE}#/signin`, { waitUntil: 'load' });
  await visible(page, 'signin');
  await page.click('#api-key', { clickCount: 3 });
  await page.type('#api-key', key);
  await page.click(tid('signin-submit'));
  await page.waitForFunction(() => location.hash.startsWith('#/map'), { timeout: 15_000 });
  await visible(page, 'map');
}

/**
 * A browser with one tab signed in with `key`: `{ browser, page }` (for a test file's `before`).
 * The browser is closed again when the sign-in fails.
 */
export async function signedIn(key = OPERATOR_KEY) {
  const browser = await launch();
  try {
    const page = await newPage(browser);
    await signIn(page, key);
    return { browser, page };
  } catch (error) {
    await browser.close();
    throw error;
  }
}

/** Goes to a hash route of the already open console (same document). */
export async function route(page, hash) {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  await page.waitForFunction((h) => location.hash === h, {}, hash);
}

/** A full-page screenshot `target/console-screenshots/<name>.png`. */
export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Runs a test's `body`; on failure saves a screenshot `<name>-failure.png` of `page` and adds the
 * page's own errors to the message.
 */
export async function failing(page, name, body) {
  try {
    await body();
  } catch (error) {
    await shot(page, `${name}-failure`).catch(() => {});
    error.message += `\npage errors: ${JSON.stringify(page.errors)}`;
    throw error;
  }
}

/** `failing` on a tab of its own, closed afterwards whatever happens. */
export async function failingThenClose(page, name, body) {
  try {
    await failing(page, name, body);
  } finally {
    await page.close();
  }
}

/** Writes a JSON file under target/ (e.g. the figures). */
export function writeTarget(name, value) {
  const path = join(ROOT, 'target', name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

/** Waits for the region's grids to be drawn; answers `Number(document.body.dataset.gridsDrawn)`. */
export async function gridsDrawn(page, timeout = 20_000) {
  const handle = await page.waitForFunction(() => document.body.dataset.gridsDrawn, { timeout });
  return Number(await handle.jsonValue());
}

/** The text of the element `data-testid=<id>`, trimmed ('' when absent). */
export async function textOf(page, id) {
  return page.evaluate((sel) => document.querySelector(sel)?.innerText?.trim() ?? '', tid(id));
}

/** `HH:MM` of an RFC 3339 time in Asia/Shanghai (how the console shows every date). */
export function shanghaiClock(value) {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hour12: false })
    .format(new Date(value));
}
