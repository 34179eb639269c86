// Issue 17, "the map draws the region's grids, and a click shows the right grid", and the
// performance promises: first paint on loopback under 1 s, all 9,207 Nantong grids drawn under
// 2 s, measured here in Chromium and written to target/console-figures.json (BENCHMARKS.md).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CONSOLE,
  CITY,
  gridsDrawn,
  launch,
  newPage,
  outlines,
  shot,
  signIn,
  textOf,
  tid,
  visible,
  writeTarget,
  failing,
} from '../lib.js';

const FIRST_PAINT_BUDGET_MS = 1000;
const GRIDS_DRAWN_BUDGET_MS = 2000;
const NANTONG_GRIDS = 9207;

let browser;
let page;
let features;
before(async () => {
  browser = await launch();
  page = await newPage(browser);
  features = await outlines(CITY);
});
after(async () => {
  await browser?.close();
});

/** `failing` on this file's page. */
const failingOn = (name, body) => failing(page, name, body);

test('the operator sees the whole city: every grid of the outlines drawn, first paint < 1 s, 9,207 grids < 2 s', async () => {
  await failingOn('map', async () => {
    assert.equal(features.length, NANTONG_GRIDS, 'the demo city has 9,207 grids in its outlines');
    await signIn(page);
    await gridsDrawn(page);
    // Measure a cold load of #/map: the cache off, the key already in the tab's session.
    await page.setCacheEnabled(false);
    await page.reload({ waitUntil: 'load' });
    const drawn = await gridsDrawn(page);
    const measured = await page.evaluate(() => {
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        metrics: window.__wangge?.metrics ?? null,
        fcp: fcp ? fcp.startTime : null,
        observedAt: performance.now(),
        domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
      };
    });
    await page.setCacheEnabled(true);
    assert.equal(drawn, features.length, 'body[data-grids-drawn] equals the outlines the API answers');
    assert.ok(measured.metrics, 'window.__wangge.metrics is set');
    assert.equal(measured.metrics.grids, features.length, 'metrics.grids counts every drawn grid');
    const firstPaint = measured.fcp ?? measured.metrics.firstPaintMs;
    const gridsMs = measured.metrics.gridsDrawnMs;
    assert.ok(Number.isFinite(firstPaint), `first paint measured (${firstPaint})`);
    assert.ok(Number.isFinite(gridsMs) && gridsMs > 0, `metrics.gridsDrawnMs measured (${gridsMs})`);
    assert.ok(gridsMs <= measured.observedAt + 1, `gridsDrawnMs (${gridsMs}) is not later than when the test saw them`);
    const figures = {
      first_paint_ms: Math.round(firstPaint),
      console_first_paint_ms: Math.round(measured.metrics.firstPaintMs ?? NaN),
      grids_drawn_ms: Math.round(gridsMs),
      grids: drawn,
      dom_content_loaded_ms: Math.round(measured.domContentLoaded ?? NaN),
      cache: 'disabled',
      chromium: await browser.version(),
      measured_at: new Date().toISOString(),
    };
    writeTarget('console-figures.json', figures);
    console.log(
      `console-figures: first_paint_ms=${figures.first_paint_ms} console_first_paint_ms=${figures.console_first_paint_ms}` +
        ` grids_drawn_ms=${figures.grids_drawn_ms} grids=${figures.grids}`,
    );
    await shot(page, 'map');
    assert.ok(firstPaint < FIRST_PAINT_BUDGET_MS, `first paint ${firstPaint} ms < ${FIRST_PAINT_BUDGET_MS} ms`);
    if (Number.isFinite(measured.metrics.firstPaintMs)) {
      assert.ok(
        measured.metrics.firstPaintMs < FIRST_PAINT_BUDGET_MS,
        `the console's firstPaintMs ${measured.metrics.firstPaintMs} < ${FIRST_PAINT_BUDGET_MS} ms`,
      );
    }
    assert.ok(gridsMs < GRIDS_DRAWN_BUDGET_MS, `${drawn} grids drawn in ${gridsMs} ms < ${GRIDS_DRAWN_BUDGET_MS} ms`);
  });
});

/** Types `q` into the map's search box and presses Enter. */
async function search(q) {
  const box = await visible(page, 'map-search');
  await box.click({ clickCount: 3 });
  await box.type(q);
  await box.press('Enter');
}

/** Waits until the grid panel shows grid `code`. */
async function panelShows(code, timeout = 10_000) {
  await visible(page, 'grid-panel');
  await page.waitForFunction(
    (sel, c) => document.querySelector(sel)?.getAttribute('data-grid-code') === c,
    { timeout },
    tid('grid-panel'),
    code,
  );
}

/** Signs in again when an earlier test of the file failed before the page was on the console. */
async function stillSignedIn() {
  if (!page.url().startsWith(CONSOLE)) await signIn(page);
}

/** Searches for the first comprehensive grid under `prefix` (the map flies there, its panel shows it); its feature. */
async function flyToGridOf(prefix) {
  const grid = features.find((f) => f.properties.code.startsWith(prefix) && f.properties.kind === 'comprehensive');
  await search(grid.properties.code);
  await panelShows(grid.properties.code);
  return grid;
}

test('the search box takes a grid code or an address and flies there, showing its grid', async () => {
  await failingOn('map-search', async () => {
    await stillSignedIn();
    await gridsDrawn(page);
    await flyToGridOf('320682');
    // An address of the standard address dictionary (data/nantong/addresses.csv), in its grid.
    await search('江苏省南通市崇川区新江街道建设街24号');
    await panelShows('320613001001001');
  });
});

test('a real mouse click on a grid opens its panel: code, name, staff with masked phones', async () => {
  await failingOn('grid-panel', async () => {
    await stillSignedIn();
    await gridsDrawn(page);
    // Fly to one grid (its panel opens), then click another of its town: the panel must follow the click.
    const first = await flyToGridOf('320612');
    await new Promise((resolve) => setTimeout(resolve, 1200)); // the fly-to animation
    await page.evaluate(() => window.scrollTo(0, 0));
    const town = first.properties.code.slice(0, 9);
    const candidates = features
      .filter((f) => f.properties.code.startsWith(town) && f.properties.code !== first.properties.code)
      .filter((f) => f.properties.kind === 'comprehensive') // staffed; pointOf brings each into view
      .map((f) => f.properties.code);
    const target = await page.evaluate(
      (codes, mapSel, panelSel) => {
        const map = document.querySelector(mapSel);
        for (const code of codes) {
          const p = window.__wangge.pointOf(code);
          if (!p) continue;
          const at = document.elementFromPoint(p.x, p.y);
          // Inside the map, on the drawn layer: not on the panel, the legend or a control.
          if (!at || !map.contains(at) || at.closest(panelSel) || at.closest('.leaflet-control')) continue;
          return { code, ...p };
        }
        return null;
      },
      candidates,
      tid('map'),
      tid('grid-panel'),
    );
    assert.ok(target, `a grid of town ${town} other than ${first.properties.code} is in view and clickable`);
    const feature = features.find((f) => f.properties.code === target.code);
    await page.mouse.click(target.x, target.y);
    await panelShows(target.code);
    await page.waitForFunction((sel) => /\d{3}\*{4}\d{4}/.test(document.querySelector(sel)?.innerText ?? ''), {}, tid('grid-panel'));
    const text = await textOf(page, 'grid-panel');
    assert.ok(text.includes(target.code), 'the panel shows the grid code');
    assert.ok(text.includes(feature.properties.name), `the panel shows the name ${feature.properties.name}`);
    assert.ok(!/(?<!\d)1\d{10}(?!\d)/.test(text), 'no unmasked mobile number in the panel');
    await shot(page, 'grid-panel');
  });
});

test('the colour select offers score, lights and type, and the grids stay drawn', async () => {
  await failingOn('map-colour', async () => {
    await stillSignedIn();
    const options = await page.$eval(tid('map-colour'), (s) => Array.from(s.options, (o) => o.value));
    for (const wanted of ['score', 'lights', 'type']) assert.ok(options.includes(wanted), `map-colour offers ${wanted}`);
    for (const value of ['lights', 'type', 'score']) {
      await page.select(tid('map-colour'), value);
      assert.equal(await gridsDrawn(page), features.length, `grids still drawn when coloured by ${value}`);
    }
    assert.deepEqual(page.errors.filter((e) => e.startsWith('pageerror')), [], 'no uncaught error in the page');
  });
});
