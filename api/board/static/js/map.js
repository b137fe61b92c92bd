// The map: an equirectangular projection (x = lon·cos φ0, y = −lat) in SVG, over the
// world-atlas country outline (TopoJSON, decoded by topojson-client); no tile server.
import { esc } from "./util.js";

let worldPromise = null;
let landCache = { key: "", path: "" };

export function loadWorld() {
  if (!worldPromise) {
    worldPromise = fetch("/board/vendor/world-atlas/countries-110m.json")
      .then((r) => (r.ok ? r.json() : null))
      .then((topo) => (topo && window.topojson ? window.topojson.feature(topo, topo.objects.countries) : null))
      .catch(() => null);
  }
  return worldPromise;
}

function landPath(world, c) {
  const key = c.toFixed(4);
  if (landCache.key === key) return landCache.path;
  const parts = [];
  const ring = (coords) => {
    let d = "";
    for (let i = 0; i < coords.length; i++) {
      d += `${i ? "L" : "M"}${(coords[i][0] * c).toFixed(2)} ${(-coords[i][1]).toFixed(2)}`;
    }
    return `${d}Z`;
  };
  for (const f of world.features) {
    const g = f.geometry;
    if (!g) continue;
    const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    for (const p of polys) for (const r of p) parts.push(ring(r));
  }
  landCache = { key, path: parts.join("") };
  return landCache.path;
}

/**
 * m = {sites: [{id, lat, lon, state, label}], homes: [{id, lat, lon}], routes: [{engineer, points: [[lat, lon]...]}], world}
 */
export function renderMap(el, m) {
  const pts = [...m.sites, ...m.homes];
  if (!pts.length) {
    el.innerHTML = '<p class="muted">Nothing to show yet.</p>';
    return;
  }
  let minLat = 90, maxLat = -90, minLon = 180, maxLon = -180;
  for (const p of pts) {
    if (p.lat < minLat) minLat = p.lat;
    if (p.lat > maxLat) maxLat = p.lat;
    if (p.lon < minLon) minLon = p.lon;
    if (p.lon > maxLon) maxLon = p.lon;
  }
  const c = Math.max(0.2, Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180));
  const padLon = Math.max(2, (maxLon - minLon) * 0.08), padLat = Math.max(2, (maxLat - minLat) * 0.08);
  const x0 = (minLon - padLon) * c, x1 = (maxLon + padLon) * c;
  const y0 = -(maxLat + padLat), y1 = -(minLat - padLat);
  const w = x1 - x0, h = y1 - y0;
  const r = Math.max(w, h) / 220;
  const X = (lon) => (lon * c).toFixed(3);
  const Y = (lat) => (-lat).toFixed(3);
  const s = [`<svg viewBox="${x0.toFixed(3)} ${y0.toFixed(3)} ${w.toFixed(3)} ${h.toFixed(3)}" role="img" aria-label="Map of sites, engineer homes and routes" preserveAspectRatio="xMidYMid meet">`];
  if (m.world) s.push(`<path class="land" vector-effect="non-scaling-stroke" stroke-width="0.6" d="${landPath(m.world, c)}"/>`);
  for (const rt of m.routes) {
    if (rt.points.length < 2) continue;
    const d = rt.points.map(([la, lo], i) => `${i ? "L" : "M"}${X(lo)} ${Y(la)}`).join("");
    s.push(`<path class="route" data-engineer="${esc(rt.engineer)}" vector-effect="non-scaling-stroke" stroke-width="1" d="${d}"><title>route of ${esc(rt.engineer)}</title></path>`);
  }
  for (const p of m.homes) {
    s.push(`<rect class="home" x="${(p.lon * c - r).toFixed(3)}" y="${(-p.lat - r).toFixed(3)}" width="${(2 * r).toFixed(3)}" height="${(2 * r).toFixed(3)}"><title>home of ${esc(p.id)}</title></rect>`);
  }
  for (const p of m.sites) {
    s.push(`<circle class="site ${p.state}" data-order="${esc(p.id)}" cx="${X(p.lon)}" cy="${Y(p.lat)}" r="${r.toFixed(3)}"><title>${esc(p.label)}</title></circle>`);
  }
  s.push("</svg>");
  el.innerHTML = s.join("");
}

export function highlightRoute(el, engineerId) {
  for (const p of el.querySelectorAll(".route.sel")) p.classList.remove("sel");
  if (engineerId) for (const p of el.querySelectorAll(`.route[data-engineer="${CSS.escape(engineerId)}"]`)) p.classList.add("sel");
}
