// Small helpers: HTML escaping, time zones, number formats.

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const esc = (v) => (v === null || v === undefined ? "" : String(v).replace(/[&<>"']/g, (c) => ESC[c]));

export const ms = (iso) => (iso ? Date.parse(iso) : NaN);

const partsCache = new Map();
function partsFormatter(zone) {
  let f = partsCache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    partsCache.set(zone, f);
  }
  return f;
}

/** Minutes the zone is ahead of UTC at instant t (ms). */
export function zoneOffset(zone, t) {
  const p = {};
  for (const { type, value } of partsFormatter(zone).formatToParts(t)) p[type] = value;
  const local = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((local - Math.floor(t / 1000) * 1000) / 60000);
}

export function offsetLabel(min) {
  const sign = min < 0 ? "-" : "+";
  const a = Math.abs(min);
  return `UTC${sign}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

/** Formatters of instants in one zone (the zone the board shows). */
export class Clock {
  constructor(zone) {
    this.zone = zone;
    const base = { timeZone: zone, hourCycle: "h23" };
    this.full = new Intl.DateTimeFormat("en-GB", { ...base, weekday: "short", day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit" });
    this.hm = new Intl.DateTimeFormat("en-GB", { ...base, hour: "2-digit", minute: "2-digit" });
    this.day = new Intl.DateTimeFormat("en-GB", { ...base, weekday: "short", day: "2-digit", month: "short" });
  }
  fmt(t) { return Number.isFinite(t) ? this.full.format(t) : "–"; }
  fmtIso(iso) { return iso ? this.fmt(ms(iso)) : "–"; }
}

export function minutes(m) {
  if (m === null || m === undefined || !Number.isFinite(m)) return "–";
  const neg = m < 0;
  const a = Math.round(Math.abs(m));
  const s = a >= 60 ? `${Math.floor(a / 60)} h ${a % 60} min` : `${a} min`;
  return neg ? `−${s}` : s;
}

export const num = (x, d = 0) => (x === null || x === undefined ? "–" : Number(x).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));

/** The state of one planned visit: under-way, late, tight (< 2 h slack) or ok. */
export function visitState(visit, orderStatus) {
  if (orderStatus === "in_progress") return "under-way";
  if (!visit.on_time) return "late";
  if (visit.slack_minutes < 120) return "tight";
  return "ok";
}
export const STATE_ICON = { "under-way": "▶", late: "!", tight: "⚠", ok: "", none: "∅" };
export const STATE_WORD = { "under-way": "in progress", late: "late", tight: "under 2 h slack", ok: "on time", none: "unassigned" };
