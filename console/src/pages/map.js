/**
 * The map (`#/map`): the key's region's grid outlines on a canvas, coloured by this
 * month's score, open cases by light, or grid type; a click shows the grid; the search
 * box flies to an address or a grid code. Sets `window.__wangge.metrics`/`pointOf` and
 * `body[data-grids-drawn]` for the browser tests.
 */
import { allPages, api, apiOrNull, ApiError, qs, session } from '../api.js';
import { fillOf, legendOf, worseLight } from '../colours.js';
import { h, append, clear, field } from '../dom.js';
import { gridPanel } from '../gridpanel.js';
import { t, thisMonth } from '../i18n.js';
import { createMap, interiorPoint, L, toPage } from '../mapview.js';

const LIGHTS = ['green', 'yellow', 'red'];

/** Renders the map page into `el`; answers its cleanup.
 * One closure over the page's state, its steps as inner functions (longer than a helper
 * would be, so that the page reads top to bottom).
 */
export function mapPage(el) {
  const region = session.principal?.region_prefix || '';
  const state = { mode: 'score', data: {}, layers: new Map(), group: null, selected: null, marker: null, alive: true };
  const mapEl = h('div', { class: 'map', 'data-testid': 'map', role: 'application', 'aria-label': t('nav_map') });
  const status = h('span', { class: 'muted status', 'aria-live': 'polite', text: t('loading') });
  const legend = h('ul', { class: 'legend', 'aria-label': t('map_colour') });
  const message = h('p', { class: 'search-message', role: 'status' });
  const colour = h('select', { id: 'map-colour', 'data-testid': 'map-colour' },
    ['score', 'lights', 'type'].map((m) => h('option', { value: m, text: t(`colour_${m}`) })));
  const search = h('input', { id: 'map-search', 'data-testid': 'map-search', type: 'search', placeholder: t('map_search_placeholder'), autocomplete: 'off' });
  const searchForm = h('form', { role: 'search', class: 'search' }, field(t('map_search'), search));
  const panel = gridPanel({ onClose: () => highlight(null) });
  el.append(
    h('section', { class: 'map-page' },
      h('div', { class: 'toolbar' }, field(t('map_colour'), colour), searchForm, message, status),
      h('div', { class: 'map-wrap' }, mapEl, panel.el, legend)),
  );

  let map;
  const drawLegend = () => append(clear(legend), legendOf(state.mode).map(([c, l]) => h('li', {}, h('span', { class: 'swatch', style: `background:${c}` }), l)));
  const styleOf = (feature) => ({
    color: feature.properties.code === state.selected ? '#111' : '#4d5560',
    weight: feature.properties.code === state.selected ? 3 : 0.6,
    fillColor: fillOf(state.mode, feature.properties, state.data),
    fillOpacity: 0.6,
  });
  const restyle = () => state.group?.setStyle(styleOf);

  function highlight(code) {
    state.selected = code;
    restyle();
  }

  async function select(code) {
    highlight(code);
    await panel.show(code, state.data.scores?.get(code));
  }

  /** Loads what the colour mode needs (once), then recolours. */
  async function colourBy(mode) {
    state.mode = mode;
    drawLegend();
    try {
      if (mode === 'score' && !state.data.scores) state.data.scores = await loadScores();
      if (mode === 'lights' && !state.data.lights) state.data.lights = await loadLights(region);
    } catch (e) {
      message.textContent = e instanceof ApiError ? e.text : '';
    }
    if (state.alive) restyle();
  }

  async function flyToGrid(code) {
    const layer = state.layers.get(code);
    if (layer) {
      map.flyToBounds(layer.getBounds(), { maxZoom: 16, duration: 0.6 });
      await select(code);
      return true;
    }
    const within = [...state.layers.entries()].filter(([c]) => c.startsWith(code));
    if (within.length) {
      map.flyToBounds(L.featureGroup(within.map(([, l]) => l)).getBounds(), { duration: 0.6 });
      return true;
    }
    const detail = await api(`/v1/grids/${encodeURIComponent(code)}`);
    map.flyToBounds(L.geoJSON(detail.geometry).getBounds(), { maxZoom: 16, duration: 0.6 });
    await panel.show(code);
    return true;
  }

  async function flyToAddress(q) {
    try {
      const { resolution } = await api(`/v1/addresses/resolve${qs({ q })}`);
      showPlace(resolution.matched);
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== 'address_unresolved') throw e;
      const candidates = e.problem.candidates || [];
      append(clear(message), `${t('search_none')}${q}. `, candidates.length ? t('search_candidates') : '',
        candidates.map((c) => h('button', { type: 'button', class: 'link', text: c.address, onclick: () => showPlace(c) })));
    }
  }

  function showPlace(place) {
    append(clear(message), place.address);
    const ll = [place.lat, place.lng];
    state.marker?.remove();
    state.marker = L.circleMarker(ll, { radius: 7, color: '#111', weight: 2, fillColor: '#fff', fillOpacity: 1, interactive: false }).addTo(map);
    map.flyTo(ll, 16, { duration: 0.6 });
    if (place.grid_code) select(place.grid_code);
  }

  searchForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const q = search.value.trim();
    if (!q) return;
    clear(message);
    try {
      if (/^\d{4,15}$/.test(q)) await flyToGrid(q);
      else await flyToAddress(q);
    } catch (e) {
      message.textContent = `${t('search_none')}${q} — ${e instanceof ApiError ? e.text : e.message}`;
    }
  });
  colour.addEventListener('change', () => colourBy(colour.value));

  (async () => {
    // The outlines and the map's set-up at once: the outlines are the long part.
    const asked = api(`/v1/grids/outlines${qs({ region })}`, { cache: 'no-cache' });
    asked.catch(() => {});
    map = await createMap(mapEl);
    if (!state.alive) return;
    drawLegend();
    let outlines;
    try {
      outlines = await asked;
    } catch (e) {
      status.textContent = e instanceof ApiError ? e.text : t('network_down');
      return;
    }
    if (!state.alive) return;
    drawOutlines(outlines);
    colourBy(state.mode);
  })();

  function drawOutlines(fc) {
    state.group = L.geoJSON(fc, {
      style: styleOf,
      onEachFeature: (feature, layer) => state.layers.set(feature.properties.code, layer),
    });
    state.group.on('click', (e) => select(e.layer.feature.properties.code));
    const count = fc.features.length;
    // The view first, then the layers: they are projected and drawn once.
    if (count) map.fitBounds(state.group.getBounds(), { animate: false });
    state.group.addTo(map);
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (!state.alive) return;
      Object.assign(window.__wangge.metrics, { gridsDrawnMs: Math.round(performance.now()), grids: count });
      document.body.dataset.gridsDrawn = String(count);
      status.textContent = `${t('grids_drawn')}: ${count}`;
    }));
  }

  window.__wangge.pointOf = (code) => {
    const layer = state.layers.get(code);
    if (!layer || !map) return null;
    // Clear of the zoom buttons and legend (left) and the grid panel (right).
    map.fitBounds(layer.getBounds(), { animate: false, maxZoom: 17, paddingTopLeft: [130, 50], paddingBottomRight: [380, 50] });
    const point = interiorPoint(map, layer);
    return point && toPage(map, point);
  };

  return () => {
    state.alive = false;
    delete document.body.dataset.gridsDrawn;
    window.__wangge.pointOf = () => null;
    map?.remove();
  };
}

/** This month's scores of every grid the key sees (comprehensive and dedicated). */
async function loadScores() {
  const month = thisMonth();
  const scores = new Map();
  for (const level of ['grid', 'dedicated']) {
    const ranking = await apiOrNull(`/v1/assessments/${month}/rankings?level=${level}`);
    for (const row of ranking?.items || []) scores.set(row.code, row.score);
  }
  return scores;
}

/** The worst light of each grid's open cases in `region`. */
async function loadLights(region) {
  const lights = new Map();
  for (const light of LIGHTS) {
    const { items } = await allPages(`/v1/cases${qs({ region, light, limit: 500 })}`, 4);
    for (const c of items) {
      const grid = c.responsible_grid || c.comprehensive_grid;
      if (grid) lights.set(grid, lights.has(grid) ? worseLight(lights.get(grid), light) : light);
    }
  }
  return lights;
}
