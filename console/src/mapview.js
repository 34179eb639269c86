/**
 * The Leaflet map both pages use: a canvas renderer (thousands of outlines draw in one
 * pass), no tiles unless `config.json` names a tile server (the console works with no
 * internet), and the geometry helpers the test hooks need.
 */
import L from 'leaflet';
import { api } from './api.js';

let config = null;
/** `config.json` (`{tile_url}`), read once. */
export async function consoleConfig() {
  if (!config) config = await api('/console/config.json').catch(() => ({ tile_url: null }));
  return config;
}

/** A map in `el`, drawing on one canvas; tiles when configured. */
export async function createMap(el, options = {}) {
  const renderer = L.canvas({ padding: 0.2 });
  const map = L.map(el, { renderer, preferCanvas: true, zoomSnap: 0.25, attributionControl: false, ...options });
  map.setView([32.0, 120.9], 9);
  const { tile_url: tileUrl } = await consoleConfig();
  if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 19, crossOrigin: true }).addTo(map);
  return map;
}

/** The outer rings of a polygon layer, as arrays of LatLng (the largest part first). */
function outerRings(layer) {
  const latlngs = layer.getLatLngs();
  const polygons = L.LineUtil.isFlat(latlngs[0]) ? [latlngs] : latlngs;
  return polygons;
}

/**
 * A container point well inside a polygon layer: on the horizontal line through the
 * middle of the largest part, the midpoint of the widest inside interval (holes count).
 */
export function interiorPoint(map, layer) {
  let best = null;
  for (const polygon of outerRings(layer)) {
    const rings = polygon.map((ring) => ring.map((ll) => map.latLngToContainerPoint(ll)));
    const ys = rings[0].map((p) => p.y);
    const [minY, maxY] = [Math.min(...ys), Math.max(...ys)];
    for (const f of [0.5, 0.4, 0.6, 0.3, 0.7]) {
      const y = minY + (maxY - minY) * f;
      const xs = [];
      for (const ring of rings) {
        for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
          const [a, b] = [ring[i], ring[j]];
          if ((a.y > y) !== (b.y > y)) xs.push(a.x + ((y - a.y) * (b.x - a.x)) / (b.y - a.y));
        }
      }
      xs.sort((p, q) => p - q);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const width = xs[k + 1] - xs[k];
        if (!best || width > best.width) best = { width, x: (xs[k] + xs[k + 1]) / 2, y };
      }
    }
  }
  return best && L.point(best.x, best.y);
}

/** A container point as page coordinates (what a mouse click takes). */
export function toPage(map, point) {
  const rect = map.getContainer().getBoundingClientRect();
  return { x: Math.round(rect.left + point.x + window.scrollX), y: Math.round(rect.top + point.y + window.scrollY) };
}

export { L };
