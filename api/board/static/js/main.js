// The dispatch board: boot (key, role), loading, rendering, and the coordinator's actions.
import { Api, problemText } from "./api.js";
import { Clock, esc, ms, minutes, num, offsetLabel, zoneOffset, visitState, STATE_WORD } from "./util.js";
import { renderTimeline, installTimelineKeys } from "./timeline.js";
import { renderMap, loadWorld, highlightRoute } from "./map.js";
import { renderOrders, readFilters } from "./orders.js";

const $ = (id) => document.getElementById(id);
const KEY = "dispatch.key";
const S = {
  api: null, role: null, zone: "UTC", clock: new Clock("UTC"),
  engineers: [], orders: [], ordersById: new Map(),
  current: null, currentProblem: null,
  shown: { job: null, problem: null, preview: false },
  world: null, job: null, pollTimer: null, quote: null, defaults: {},
};
const RANK = { ticketing: 0, coordinator: 1, admin: 2 };
const isCoordinator = () => RANK[S.role] >= 1;

function say(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// ------------------------------------------------------------------ boot
function takeFragment() {
  // #key=…&planning_start=…: read once, then removed from the address bar.
  if (!location.hash || location.hash.length < 2) return;
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("key")) sessionStorage.setItem(KEY, params.get("key"));
  if (params.get("planning_start")) sessionStorage.setItem("dispatch.planning_start", params.get("planning_start"));
  history.replaceState(null, "", location.pathname + location.search);
}

function showLogin(error) {
  $("login").hidden = false;
  $("board").hidden = true;
  $("login-error").textContent = error || "";
  $("login-key").focus();
}

async function boot() {
  takeFragment();
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("login-key").value.trim());
    $("login-key").value = "";
    start();
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
  await start();
}

async function start() {
  const key = sessionStorage.getItem(KEY);
  if (!key) return showLogin();
  S.api = new Api(key);
  say("loading…");
  const who = await S.api.get("/v1/whoami");
  if (!who.ok) {
    if (who.status === 401) sessionStorage.removeItem(KEY);
    say("");
    return showLogin(problemText(who));
  }
  S.role = who.data.role;
  document.body.dataset.role = S.role;
  $("who").textContent = `${S.role} · key ${who.data.key_id}`;
  $("login").hidden = true;
  $("logout").hidden = false;
  if (!isCoordinator()) for (const el of document.querySelectorAll("[data-coordinator]")) el.remove();
  $("board").hidden = false;
  wire();
  await loadAll();
  renderAll();
  say("");
  performance.mark("board:rendered");
  performance.measure("board:first-render", { start: 0, end: "board:rendered" });
  document.body.dataset.ready = "1";
}

async function loadAll() {
  const world = isCoordinator() ? loadWorld() : Promise.resolve(null);
  const orders = S.api.all("/v1/orders");
  if (isCoordinator()) {
    const [eng, cur] = await Promise.all([
      S.api.all("/v1/engineers"),
      S.api.get("/v1/plans/current").then(async (r) => {
        if (!r.ok) return { job: null, problem: null, error: r.status === 404 ? null : r };
        const p = await S.api.get(`/v1/plans/${r.data.id}/problem`);
        return { job: r.data, problem: p.ok ? p.data : null };
      }),
    ]);
    if (!eng.ok) say(`engineers: ${problemText(eng)}`, true);
    S.engineers = eng.ok ? eng.data : [];
    S.current = cur.job;
    S.currentProblem = cur.problem;
    S.shown = { job: cur.job, problem: cur.problem, preview: false };
  }
  const o = await orders;
  if (!o.ok) say(`orders: ${problemText(o)}`, true);
  setOrders(o.ok ? o.data : []);
  S.world = await world;
  setupZones();
}

function setOrders(list) {
  S.orders = list;
  S.ordersById = new Map(list.map((o) => [o.id, o]));
}

// ------------------------------------------------------------------ zones
function planZone() {
  const count = new Map();
  const engs = S.shown.problem ? S.shown.problem.engineers : S.engineers.map((e) => e.engineer);
  for (const e of engs || []) if (e.timezone) count.set(e.timezone, (count.get(e.timezone) || 0) + 1);
  let best = null;
  for (const [z, n] of count) if (!best || n > count.get(best)) best = z;
  return { best, all: [...count.keys()].sort() };
}

function setupZones() {
  const { best, all } = planZone();
  const browser = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const zones = ["UTC", ...(best ? [best] : []), ...all.filter((z) => z !== best)];
  if (browser && !zones.includes(browser)) zones.push(browser);
  const saved = sessionStorage.getItem("dispatch.zone");
  S.zone = zones.includes(saved) ? saved : best || "UTC";
  $("zone").innerHTML = zones.map((z) => `<option value="${esc(z)}"${z === S.zone ? " selected" : ""}>${esc(z)}${z === best ? " (the plan's)" : z === browser && z !== "UTC" ? " (this browser)" : ""}</option>`).join("");
  setZone(S.zone);
}

function setZone(zone) {
  S.zone = zone;
  S.clock = new Clock(zone);
  sessionStorage.setItem("dispatch.zone", zone);
  $("zone-name").textContent = `${zone} (${offsetLabel(zoneOffset(zone, Date.now()))})`;
}

// ------------------------------------------------------------------ rendering
function shownPlan() { return S.shown.job ? S.shown.job.plan : null; }

function planIndex() {
  const plan = shownPlan();
  const visits = new Map(), late = new Map(), unassigned = new Map(), routes = new Map();
  if (plan) {
    for (const r of plan.routes) {
      routes.set(r.engineer_id, r);
      for (const v of r.visits) visits.set(v.order_id, { visit: v, engineer: r.engineer_id });
    }
    for (const l of plan.late || []) late.set(l.order_id, l);
    for (const u of plan.unassigned || []) unassigned.set(u.order_id, u);
  }
  return { plan, visits, late, unassigned, routes };
}

function timelineEngineers(idx) {
  const fromProblem = new Map(((S.shown.problem && S.shown.problem.engineers) || []).map((e) => [e.id, e]));
  const rows = [];
  const seen = new Set();
  for (const e of S.engineers) {
    const doc = fromProblem.get(e.id) || e.engineer;
    rows.push({ id: e.id, name: doc.name, timezone: doc.timezone, shifts: doc.shifts || [], home: doc.home });
    seen.add(e.id);
  }
  for (const [id, doc] of fromProblem) if (!seen.has(id)) { rows.push({ id, name: doc.name, timezone: doc.timezone, shifts: doc.shifts || [], home: doc.home }); seen.add(id); }
  for (const id of idx.routes.keys()) if (!seen.has(id)) rows.push({ id, name: "", shifts: [] });
  return rows;
}

function horizon(idx) {
  const p = S.shown.problem;
  if (p && p.planning_start) {
    const a = ms(p.planning_start);
    return [a, a + (p.horizon_hours || 96) * 3600e3];
  }
  let a = Infinity, b = -Infinity;
  for (const r of idx.routes.values()) for (const v of r.visits) { a = Math.min(a, ms(v.departure)); b = Math.max(b, ms(v.end)); }
  if (!Number.isFinite(a)) { a = Date.now(); b = a + 72 * 3600e3; }
  return [a, b];
}

function renderKpis(idx) {
  const k = idx.plan ? idx.plan.kpis : null;
  const job = S.shown.job;
  $("plan-label").textContent = job
    ? `${S.shown.preview ? "preview of job" : "published plan"} ${job.id}${S.shown.preview ? " (not published)" : ""}`
    : "no plan published yet";
  const el = $("kpis");
  if (!k) { el.innerHTML = '<div class="kpi"><b>–</b><span>no plan published yet</span></div>'; return; }
  const items = [
    ["on_time_rate", `${num(k.on_time_rate * 100, 1)} %`, `on time (${k.on_time} of ${k.orders})`],
    ["late", `${k.late ? "! " : ""}${num(k.late)}`, "late"],
    ["unassigned", `${k.unassigned ? "∅ " : ""}${num(k.unassigned)}`, "unassigned"],
    ["travel", `${num(k.travel_km)} km`, `travel (${num(k.travel_hours, 1)} h)`],
    ["overtime", `${num(k.overtime_minutes / 60, 1)} h`, "overtime"],
    ["hotel_nights", num(k.hotel_nights), "hotel nights"],
    ["engineers_used", num(k.engineers_used), "engineers used"],
  ];
  el.innerHTML = items.map(([id, v, label]) => `<div class="kpi" data-kpi="${id}"><b>${esc(v)}</b><span>${esc(label)}</span></div>`).join("");
}

function renderPlanViews(idx) {
  const [a, b] = horizon(idx);
  const status = new Map(S.orders.map((o) => [o.id, o.status]));
  renderTimeline($("timeline"), {
    engineers: timelineEngineers(idx), routes: idx.routes, start: a, end: b, clock: S.clock,
    status, late: idx.late, width: $("timeline").clientWidth - 4,
  });
  const sites = [];
  const siteOf = (id) => {
    const o = S.ordersById.get(id);
    if (o && o.order && o.order.site) return o.order.site;
    const po = S.shown.problem && S.shown.problem.orders.find((x) => x.id === id);
    return po ? po.site : null;
  };
  const placed = new Set();
  for (const o of S.orders) {
    if (o.status === "done" || o.status === "cancelled") continue;
    const site = o.order.site;
    const v = idx.visits.get(o.id);
    const state = v ? visitState(v.visit, o.status) : "none";
    sites.push({ id: o.id, lat: site.lat, lon: site.lon, state, label: `${o.id} ${site.name || ""}: ${STATE_WORD[state]}${v ? ` (${v.engineer})` : ""}` });
    placed.add(o.id);
  }
  for (const [id, v] of idx.visits) {
    if (placed.has(id)) continue;
    const site = siteOf(id);
    if (site) sites.push({ id, lat: site.lat, lon: site.lon, state: visitState(v.visit), label: `${id}: ${STATE_WORD[visitState(v.visit)]}` });
  }
  const engs = timelineEngineers(idx);
  const homes = engs.filter((e) => e.home).map((e) => ({ id: e.id, lat: e.home.lat, lon: e.home.lon }));
  const routes = [];
  for (const r of idx.routes.values()) {
    const home = engs.find((e) => e.id === r.engineer_id);
    const from = (r.start && r.start.location) || (home && home.home);
    const pts = from ? [[from.lat, from.lon]] : [];
    for (const v of r.visits) { const s = siteOf(v.order_id); if (s) pts.push([s.lat, s.lon]); }
    if (r.return && home && home.home) pts.push([home.home.lat, home.home.lon]);
    routes.push({ engineer: r.engineer_id, points: pts });
  }
  renderMap($("map"), { sites, homes, routes, world: S.world });
}

function renderOrderList(idx) {
  renderOrders($("orders"), $("orders-count"), S.orders, readFilters(), S.clock, idx ? idx.unassigned : new Map());
}

function renderAll() {
  const idx = planIndex();
  if (isCoordinator()) {
    renderKpis(idx);
    renderPlanViews(idx);
    fillEngineerSelect();
  }
  renderOrderList(idx);
}

// ------------------------------------------------------------------ detail
function showDetail(orderId) {
  const idx = planIndex();
  const o = S.ordersById.get(orderId);
  const v = idx.visits.get(orderId);
  const late = idx.late.get(orderId);
  const un = idx.unassigned.get(orderId);
  const site = o ? o.order.site : null;
  const rows = [["Ticket", orderId], ["Status", o ? o.status : "–"]];
  if (o) rows.push(["Priority / class", `${o.priority} / ${o.commitment_class}`]);
  if (site) rows.push(["Site", `${site.name || ""} (${site.lat}, ${site.lon}, ${site.country || ""})`]);
  if (v) {
    const vv = v.visit;
    const state = visitState(vv, o && o.status);
    rows.push(["Engineer", v.engineer], ["State", STATE_WORD[state]], ["Deadline", S.clock.fmtIso(vv.deadline)],
      ["ETA (arrival)", S.clock.fmtIso(vv.arrival)], ["Service", `${S.clock.fmtIso(vv.start)} – ${S.clock.hm.format(ms(vv.end))}`],
      ["Slack", minutes(vv.slack_minutes)], ["Travel", `${vv.travel_mode}, ${num(vv.travel_km)} km, ${minutes(vv.travel_minutes)}`]);
    if (vv.overtime_minutes > 0) rows.push(["Overtime", minutes(vv.overtime_minutes)]);
  } else if (o) {
    rows.push(["Deadline", S.clock.fmtIso(o.deadline)]);
  }
  if (late) rows.push(["Late because", `${late.reason}: ${late.detail || ""} (${minutes(late.minutes_late)} late)`]);
  if (un) rows.push(["Unassigned because", `${un.reason}: ${un.detail || ""}`]);
  if (o && o.assignment && o.assignment.reason && !un) rows.push(["Reason (published)", o.assignment.reason]);
  const acts = [];
  if (o && ["open", "planned", "published"].includes(o.status)) acts.push(`<button type="button" data-act="in_progress" data-order="${esc(orderId)}">Mark in progress</button>`);
  if (o && o.status === "in_progress") acts.push(`<button type="button" data-act="done" data-order="${esc(orderId)}">Mark done</button>`);
  $("detail-body") && ($("detail-body").innerHTML = `<dl class="detail">${rows.map(([k, val]) => `<dt>${esc(k)}</dt><dd>${esc(val)}</dd>`).join("")}</dl><p>${acts.join(" ")}</p><p class="muted small">times in ${esc(S.zone)}</p>`);
  if (!$("detail-body")) say(rows.map(([k, val]) => `${k}: ${val}`).join(" · "));
  if (v && $("map")) highlightRoute($("map"), v.engineer);
}

// ------------------------------------------------------------------ actions
async function setOrderStatus(orderId, status) {
  const r = await S.api.patch(`/v1/orders/${encodeURIComponent(orderId)}`, { status });
  if (!r.ok) return say(`${orderId}: ${problemText(r)}`, true);
  const i = S.orders.findIndex((o) => o.id === orderId);
  if (i >= 0) S.orders[i] = r.data;
  setOrders(S.orders);
  say(`${orderId} is now ${r.data.status}`);
  renderAll();
  if ($("detail-body")) showDetail(orderId);
}

function fillEngineerSelect() {
  const sel = $("absent-engineer");
  if (!sel || sel.options.length === S.engineers.length) return;
  sel.innerHTML = S.engineers.map((e) => `<option value="${esc(e.id)}">${esc(e.id)} ${esc(e.engineer.name || "")}</option>`).join("");
  const now = new Date();
  now.setUTCSeconds(0, 0);
  $("absent-start").value = now.toISOString().replace(".000Z", "Z");
  $("absent-end").value = new Date(now.getTime() + 24 * 3600e3).toISOString().replace(".000Z", "Z");
}

async function reportAbsent(e) {
  e.preventDefault();
  const id = $("absent-engineer").value;
  const cur = await S.api.get(`/v1/engineers/${encodeURIComponent(id)}`);
  if (!cur.ok) return ($("absent-msg").textContent = problemText(cur));
  const absences = (cur.data.absences || []).map((a) => ({ start: a.start, end: a.end, reason: a.reason }));
  absences.push({ start: $("absent-start").value.trim(), end: $("absent-end").value.trim(), reason: $("absent-reason").value.trim() || null });
  const r = await S.api.post(`/v1/engineers/${encodeURIComponent(id)}/status`, { absences });
  $("absent-msg").textContent = r.ok
    ? `${id} reported absent ${absences.at(-1).start} – ${absences.at(-1).end}; request a plan to re-plan around it.`
    : problemText(r);
  $("absent-msg").className = r.ok ? "" : "error";
}

async function requestPlan(e) {
  e.preventDefault();
  const body = { time_limit_s: Number($("plan-time").value) || 10 };
  if ($("plan-solutions").value) body.solution_limit = Number($("plan-solutions").value);
  if ($("plan-mode").value) body.mode = $("plan-mode").value;
  const start = $("plan-start").value.trim();
  if (start) body.planning_start = start;
  if (S.shown.problem && S.shown.problem.horizon_hours) body.horizon_hours = S.shown.problem.horizon_hours;
  const r = await S.api.post("/v1/plans", body);
  if (!r.ok) return ($("plan-progress").textContent = problemText(r));
  S.job = r.data;
  $("plan-review").hidden = true;
  $("plan-cancel").hidden = false;
  $("plan-request").disabled = true;
  showProgress(r.data);
  poll();
}

function showProgress(job) {
  const p = job.progress || {};
  const el = $("plan-progress");
  el.dataset.state = job.state;
  el.textContent = `job ${job.id}: ${job.state} · best cost ${p.best_cost !== undefined ? num(p.best_cost) : "–"} · on time ${p.on_time !== undefined ? `${p.on_time} of ${job.orders}` : "–"} · ${p.solutions !== undefined ? `${p.solutions} solutions · ` : ""}elapsed ${p.elapsed_s !== undefined ? num(p.elapsed_s, 1) : "0.0"} s${job.error ? ` · ${job.error}` : ""}`;
}

function poll() {
  clearTimeout(S.pollTimer);
  S.pollTimer = setTimeout(async () => {
    if (!S.job) return;
    const r = await S.api.get(`/v1/plans/${S.job.id}`);
    if (!r.ok) { $("plan-progress").textContent = problemText(r); return; }
    S.job = r.data;
    showProgress(r.data);
    if (r.data.state === "queued" || r.data.state === "running") return poll();
    $("plan-cancel").hidden = true;
    $("plan-request").disabled = false;
    if (r.data.state === "done") await showJob(r.data, true);
  }, 500);
}

async function showJob(job, preview) {
  performance.mark("plan:refresh:start");
  const p = await S.api.get(`/v1/plans/${job.id}/problem`);
  S.shown = { job, problem: p.ok ? p.data : S.currentProblem, preview };
  renderAll();
  if (preview) renderChanges(job);
  performance.mark("plan:refresh:end");
  performance.measure("plan:refresh", "plan:refresh:start", "plan:refresh:end");
  document.body.dataset.shown = job.id;
}

function renderChanges(job) {
  const ch = job.changes || [];
  const c = S.clock;
  $("changes").innerHTML = ch.length
    ? `<table><thead><tr><th scope="col">Kind</th><th scope="col">Order</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Old start</th><th scope="col">New start</th><th scope="col">Reason</th></tr></thead><tbody>${ch.map((x) => `<tr data-kind="${esc(x.kind)}" data-order="${esc(x.order_id)}"><td>${esc(x.kind)}</td><td><a href="#" data-show="${esc(x.order_id)}">${esc(x.order_id)}</a></td><td>${esc(x.from_engineer || "–")}</td><td>${esc(x.to_engineer || "–")}</td><td>${esc(c.fmtIso(x.old_start))}</td><td>${esc(c.fmtIso(x.new_start))}</td><td>${esc(x.reason)}</td></tr>`).join("")}</tbody></table>`
    : `<p class="muted">${S.current ? "No change against the published plan." : "Nothing is published yet: every visit is new."}</p>`;
  $("publish-msg").textContent = "";
  $("publish-force").hidden = true;
  $("plan-review").hidden = false;
}

async function publish(force) {
  const job = S.shown.job;
  if (!job || !S.shown.preview) return;
  const r = await S.api.post(`/v1/plans/${job.id}/publish`, { force });
  if (!r.ok) {
    $("publish-msg").textContent = problemText(r);
    $("publish-force").hidden = !(r.status === 409 && r.data && r.data.stale);
    return;
  }
  S.current = r.data;
  S.currentProblem = S.shown.problem;
  const o = await S.api.all("/v1/orders");
  if (o.ok) setOrders(o.data);
  S.shown = { job: r.data, problem: S.currentProblem, preview: false };
  $("plan-review").hidden = true;
  renderAll();
  say(`Published plan ${r.data.id}.`);
  document.body.dataset.published = r.data.id;
}

function discard() {
  S.shown = { job: S.current, problem: S.currentProblem, preview: false };
  $("plan-review").hidden = true;
  renderAll();
}

async function cancelJob() {
  if (!S.job) return;
  const r = await S.api.del(`/v1/plans/${S.job.id}`);
  $("plan-progress").textContent = r.ok ? `job ${S.job.id} cancelled` : problemText(r);
}

function quoteOrder() {
  const skills = $("q-skills").value.split(",").map((s) => s.trim()).filter(Boolean);
  const site = { lat: Number($("q-lat").value), lon: Number($("q-lon").value), country: $("q-country").value.trim() };
  if ($("q-site").value.trim()) site.name = $("q-site").value.trim();
  const received = new Date();
  received.setUTCMilliseconds(0);
  return {
    id: $("q-id").value.trim(), site, received_at: received.toISOString().replace(".000Z", "Z"),
    priority: $("q-priority").value, required_skills: skills, service_minutes: Number($("q-service").value),
  };
}

async function getQuote(e) {
  e.preventDefault();
  const order = quoteOrder();
  const r = await S.api.post("/v1/quotes?limit=3", order);
  const el = $("quote-result");
  if (!r.ok) { el.innerHTML = `<p class="error">${esc(problemText(r))}</p>`; return; }
  S.quote = { order, answer: r.data };
  const q = r.data, c = S.clock;
  const rows = q.options.map((o, i) => `<tr data-option="${i}"><td>${i === 0 ? "★ " : ""}${esc(o.engineer_id)}</td><td>${esc(c.fmtIso(o.eta))}</td><td>${esc(c.fmtIso(o.start))}</td><td>${o.on_time ? "on time" : "! late"}</td><td>${esc(minutes(o.slack_minutes))}</td><td>${num(o.extra_travel_km, 1)}</td><td>${esc(o.displaces.join(", ") || "–")}</td><td><button type="button" data-create="${i}">Create with this option</button></td></tr>`).join("");
  el.innerHTML = q.options.length
    ? `<table><caption class="muted small" style="text-align:left">quote for ${esc(q.order_id)}, times in ${esc(c.zone)}</caption><thead><tr><th scope="col">Engineer</th><th scope="col">ETA</th><th scope="col">Start</th><th scope="col">On time</th><th scope="col">Slack</th><th scope="col">Extra km</th><th scope="col">Would make late</th><th scope="col"></th></tr></thead><tbody>${rows}</tbody></table>`
    : `<p>No option: <code>${esc(q.reason)}</code> ${esc(q.detail || "")} <button type="button" data-create="-1">Create without a slot</button></p>`;
}

async function createFromQuote(i) {
  if (!S.quote) return;
  const body = { ...S.quote.order };
  const opt = S.quote.answer.options[i];
  if (opt) body.quote = { engineer_id: opt.engineer_id, eta: opt.eta, start: opt.start };
  const r = await S.api.post("/v1/orders", body);
  const el = $("quote-result");
  if (!r.ok) { el.insertAdjacentHTML("beforeend", `<p class="error" role="alert">${esc(problemText(r))}</p>`); return; }
  el.innerHTML = `<p class="created" data-created="${esc(r.data.id)}">Created ${esc(r.data.id)} (${esc(r.data.status)})${opt ? `, slot held with ${esc(opt.engineer_id)}, ETA ${esc(S.clock.fmtIso(opt.eta))}` : ""}.</p>`;
  S.quote = null;
  setOrders([...S.orders.filter((o) => o.id !== r.data.id), r.data]);
  renderOrderList(planIndex());
}

async function openSimulation(e) {
  e.preventDefault();
  const id = $("sim-id").value.trim();
  const r = await S.api.get(`/v1/simulations/${encodeURIComponent(id)}`);
  const el = $("sim-report");
  if (!r.ok) { el.innerHTML = `<p class="error">${esc(problemText(r))}</p>`; return; }
  renderSimList();
  const s = r.data;
  const comp = s.results && s.results.comparison;
  el.innerHTML = `<h3>${esc(s.scenario)} <span class="muted">${esc(s.state)}, ${s.replications} replications</span></h3>${s.error ? `<p class="error">${esc(s.error)}</p>` : ""}${comp ? `<pre style="max-height:40vh;overflow:auto">${esc(JSON.stringify(comp, null, 1))}</pre>` : '<p class="muted">No results yet.</p>'}`;
}

// The newest simulations from the service (GET /v1/simulations), each a link to its report.
async function renderSimList() {
  const r = await S.api.get("/v1/simulations?limit=20");
  const items = r.ok ? r.data.items : [];
  $("sim-list").innerHTML = items.map((x) => `<li data-sim-item="${esc(x.id)}"><a href="#" data-sim="${esc(x.id)}">${esc(x.scenario)}</a> <span class="muted">${esc(x.state)}, ${esc(S.clock.fmtIso(x.created_at))}</span></li>`).join("");
}

// ------------------------------------------------------------------ wiring
let wired = false;
function wire() {
  if (wired) return;
  wired = true;
  $("zone").addEventListener("change", (e) => { setZone(e.target.value); renderAll(); });
  $("order-filters").addEventListener("input", () => renderOrderList(planIndex()));
  $("order-filters").addEventListener("submit", (e) => e.preventDefault());
  document.addEventListener("click", (e) => {
    const t = e.target;
    if (t.dataset.act) setOrderStatus(t.dataset.order, t.dataset.act);
    else if (t.dataset.show) { e.preventDefault(); showDetail(t.dataset.show); }
    else if (t.dataset.create !== undefined) createFromQuote(Number(t.dataset.create));
    else if (t.dataset.sim) { e.preventDefault(); $("sim-id").value = t.dataset.sim; $("sim-form").requestSubmit(); }
  });
  $("quote-form").addEventListener("submit", getQuote);
  if (!isCoordinator()) return;
  installTimelineKeys($("timeline"), (id, g) => {
    for (const s of document.querySelectorAll(".visit.selected")) s.classList.remove("selected");
    g.classList.add("selected");
    showDetail(id);
  });
  $("map").addEventListener("click", (e) => { const c = e.target.closest(".site"); if (c) showDetail(c.dataset.order); });
  $("plan-form").addEventListener("submit", requestPlan);
  $("plan-cancel").addEventListener("click", cancelJob);
  $("publish").addEventListener("click", () => publish(false));
  $("publish-force").addEventListener("click", () => publish(true));
  $("discard").addEventListener("click", discard);
  $("absent-form").addEventListener("submit", reportAbsent);
  $("sim-form").addEventListener("submit", openSimulation);
  const ps = sessionStorage.getItem("dispatch.planning_start");
  if (ps) $("plan-start").value = ps;
  renderSimList();
  let resize = null;
  window.addEventListener("resize", () => { clearTimeout(resize); resize = setTimeout(renderAll, 200); });
}

window.board = { state: S, showJob, renderAll };
boot();
