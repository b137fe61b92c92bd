// The timeline: one SVG row per engineer over the planning horizon.
import { esc, ms, minutes, zoneOffset, visitState, STATE_ICON, STATE_WORD } from "./util.js";

const LABEL_W = 150;
const ROW_H = 26;
const AXIS_H = 34;
const STEPS_H = [1, 2, 3, 6, 12, 24];

function ticks(clock, t0, t1, pxPerMs) {
  const stepH = STEPS_H.find((h) => h * 3600e3 * pxPerMs >= 48) || 24;
  const out = [];
  const off0 = zoneOffset(clock.zone, t0) * 60e3;
  let local = Math.ceil((t0 + off0) / (stepH * 3600e3)) * stepH * 3600e3;
  for (let i = 0; i < 500; i++) {
    const guess = local - off0;
    const t = local - zoneOffset(clock.zone, guess) * 60e3;
    if (t > t1) break;
    const isDay = new Date(local).getUTCHours() === 0;
    out.push({ t, isDay });
    local += stepH * 3600e3;
  }
  return out;
}

/**
 * Render the timeline into `el`.
 * m = {engineers, routes: Map(engineer id -> route), start, end (ms), clock, status: Map(order id -> status), late: Map, width}
 */
export function renderTimeline(el, m) {
  const width = Math.max(600, m.width);
  const plotW = width - LABEL_W - 10;
  const t0 = m.start;
  const t1 = m.end;
  const k = plotW / (t1 - t0);
  const X = (t) => LABEL_W + Math.max(0, Math.min(plotW, (t - t0) * k));
  const H = m.engineers.length * ROW_H;
  const tk = ticks(m.clock, t0, t1, k);

  // Axis
  let ax = `<svg class="tl-axis-svg" width="${width}" height="${AXIS_H}" role="presentation">`;
  ax += `<text x="4" y="14" class="tl-ticklabel">${esc(m.clock.zone)}</text>`;
  for (const { t, isDay } of tk) {
    const x = X(t).toFixed(1);
    ax += `<line x1="${x}" x2="${x}" y1="${isDay ? 0 : 18}" y2="${AXIS_H}" class="${isDay ? "tl-day" : "tl-tick"}"/>`;
    ax += `<text x="${+x + 2}" y="${isDay ? 12 : 28}" class="tl-ticklabel">${esc(isDay ? m.clock.day.format(t) : m.clock.hm.format(t))}</text>`;
  }
  ax += "</svg>";

  // Body
  const s = [];
  s.push(`<svg class="tl-body" width="${width}" height="${H}" role="group" aria-label="Engineers' timelines">`);
  s.push('<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#a5d6a7"/><rect width="3" height="6" fill="#2e7d32"/></pattern></defs>');
  for (const { t, isDay } of tk) {
    const x = X(t).toFixed(1);
    s.push(`<line x1="${x}" x2="${x}" y1="0" y2="${H}" class="${isDay ? "tl-day" : "tl-tick"}"/>`);
  }
  const now = Date.now();
  if (now > t0 && now < t1) s.push(`<line class="now" x1="${X(now)}" x2="${X(now)}" y1="0" y2="${H}"><title>now</title></line>`);

  m.engineers.forEach((eng, i) => {
    const y = i * ROW_H;
    const mid = y + ROW_H / 2;
    const route = m.routes.get(eng.id);
    const visits = route ? route.visits : [];
    s.push(`<g class="tl-row" data-engineer="${esc(eng.id)}" data-visits="${visits.length}" transform="translate(0,${y})">`);
    s.push(`<rect class="tl-rowbg" x="0" y="0" width="${width}" height="${ROW_H}" fill="${i % 2 ? "#f7f8fb" : "#fff"}"/>`);
    s.push(`<text class="tl-label" x="4" y="${ROW_H / 2 + 4}">${esc(eng.id)}${eng.name ? ` ${esc(eng.name)}` : ""}<title>${esc(eng.id)} ${esc(eng.name || "")} (${esc(eng.timezone || "")}), ${visits.length} visits</title></text>`);
    s.push("</g>");
    for (const sh of eng.shifts || []) {
      const a = ms(sh.start), b = ms(sh.end);
      if (b < t0 || a > t1) continue;
      s.push(`<rect class="shift" x="${X(a).toFixed(1)}" y="${y + 3}" width="${Math.max(0.5, X(b) - X(a)).toFixed(1)}" height="${ROW_H - 6}"><title>shift ${esc(m.clock.fmt(a))} – ${esc(m.clock.hm.format(b))}</title></rect>`);
    }
    if (route) {
      for (const n of route.overnights || []) {
        if (!n.hotel) continue;
        // The night of D in the engineer's zone: 20:00 on D to 06:00 the day after.
        const localMidnight = Date.parse(`${n.night_of}T00:00:00Z`);
        const off = eng.timezone ? zoneOffset(eng.timezone, localMidnight) * 60e3 : 0;
        const a = localMidnight - off + 20 * 3600e3, b = a + 10 * 3600e3;
        if (b < t0 || a > t1) continue;
        s.push(`<g class="night" data-night="${esc(n.night_of)}"><rect class="hotel" x="${X(a).toFixed(1)}" y="${y + 1}" width="${(X(b) - X(a)).toFixed(1)}" height="${ROW_H - 2}"/><text class="hotel-t" x="${X(a) + 2}" y="${y + 10}">H</text><title>hotel night of ${esc(n.night_of)}: ${esc(n.place || "")}</title></g>`);
      }
      const leg = (mode, dep, arr, km, label) => {
        const a = ms(dep), b = ms(arr);
        const x1 = X(a), x2 = X(b);
        let out = `<line class="leg ${mode === "flight" ? "flight" : "drive"}" x1="${x1.toFixed(1)}" x2="${Math.max(x1 + 1, x2).toFixed(1)}" y1="${mid}" y2="${mid}"><title>${esc(mode)} ${esc(label)}: ${esc(m.clock.fmt(a))} → ${esc(m.clock.hm.format(b))}, ${Math.round(km || 0)} km</title></line>`;
        if (mode === "flight" && x2 - x1 > 14) out += `<text class="legicon" x="${((x1 + x2) / 2 - 5).toFixed(1)}" y="${mid - 3}">✈</text>`;
        return out;
      };
      for (const v of visits) {
        s.push(leg(v.travel_mode, v.departure, v.arrival, v.travel_km, `to ${v.order_id}`));
        const arr = ms(v.arrival), st = ms(v.start), en = ms(v.end);
        if (st > arr) s.push(`<line class="wait" x1="${X(arr).toFixed(1)}" x2="${X(st).toFixed(1)}" y1="${mid}" y2="${mid}"/>`);
        const state = visitState(v, m.status.get(v.order_id));
        const x = X(st), w = Math.max(3, X(en) - x);
        const icon = STATE_ICON[state];
        const lateNote = m.late.get(v.order_id);
        const label = `${v.order_id}, ${STATE_WORD[state]}, arrival ${m.clock.fmt(arr)}, deadline ${m.clock.fmt(ms(v.deadline))}, slack ${minutes(v.slack_minutes)}${lateNote ? `, ${lateNote.reason}` : ""}`;
        s.push(`<g class="visit ${state}" data-order="${esc(v.order_id)}" data-engineer="${esc(eng.id)}" data-state="${state}" tabindex="0" role="button" aria-label="${esc(label)}"><rect x="${x.toFixed(1)}" y="${y + 5}" width="${w.toFixed(1)}" height="${ROW_H - 10}" rx="2"/>`);
        if (icon && w > 9) s.push(`<text x="${(x + 2).toFixed(1)}" y="${y + ROW_H / 2 + 4}">${icon}</text>`);
        s.push(`<title>${esc(label)}</title></g>`);
        if (v.overtime_minutes > 0) {
          const ox = X(en - v.overtime_minutes * 60e3);
          s.push(`<rect class="overtime" x="${ox.toFixed(1)}" y="${y + ROW_H - 5}" width="${Math.max(2, X(en) - ox).toFixed(1)}" height="3"><title>overtime ${minutes(v.overtime_minutes)} (${esc(v.order_id)})</title></rect>`);
        }
      }
      const r = route.return;
      if (r && r.departure) s.push(leg(r.travel_mode, r.departure, r.arrival, r.travel_km, "home"));
    }
  });
  s.push("</svg>");
  el.innerHTML = `<div class="tl-axis">${ax}</div>${s.join("")}`;
}

/** Keyboard: arrows move between visits (left/right in a row, up/down across rows). */
export function installTimelineKeys(el, onSelect) {
  el.addEventListener("click", (e) => {
    const g = e.target.closest(".visit");
    if (g) onSelect(g.dataset.order, g);
  });
  el.addEventListener("keydown", (e) => {
    const g = e.target.closest(".visit");
    if (!g) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onSelect(g.dataset.order, g);
      return;
    }
    const visits = [...el.querySelectorAll(".visit")];
    const i = visits.indexOf(g);
    let next = null;
    if (e.key === "ArrowRight") next = visits[i + 1];
    else if (e.key === "ArrowLeft") next = visits[i - 1];
    else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const dir = e.key === "ArrowDown" ? 1 : -1;
      for (let j = i + dir; j >= 0 && j < visits.length; j += dir) {
        if (visits[j].dataset.engineer !== g.dataset.engineer) { next = visits[j]; break; }
      }
    }
    if (next) { e.preventDefault(); next.focus(); }
  });
}
