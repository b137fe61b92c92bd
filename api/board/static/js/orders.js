// The orders list: filters, flags (late, at risk, unassigned with reason), row actions.
import { esc, minutes } from "./util.js";

export function readFilters() {
  const v = (id) => document.getElementById(id);
  return {
    search: v("f-search").value.trim().toLowerCase(),
    status: v("f-status").value,
    cls: v("f-class").value,
    priority: v("f-priority").value,
    risk: v("f-risk").checked,
    unassigned: v("f-unassigned").checked,
  };
}

const MAX_ROWS = 400;

/** o: OrderOut; unassigned: Map(order id -> {reason, detail}) of the plan shown. */
export function renderOrders(el, countEl, orders, f, clock, unassigned) {
  const rows = [];
  let shown = 0, matched = 0;
  for (const o of orders) {
    const un = unassigned.get(o.id);
    const isUnassigned = !!un || (o.assignment && !o.assignment.engineer_id);
    if (f.search && !o.id.toLowerCase().includes(f.search)) continue;
    if (f.status && o.status !== f.status) continue;
    if (f.cls && o.commitment_class !== f.cls) continue;
    if (f.priority && o.priority !== f.priority) continue;
    if (f.risk && !o.at_risk) continue;
    if (f.unassigned && !isUnassigned) continue;
    matched++;
    if (shown >= MAX_ROWS) continue;
    shown++;
    const a = o.assignment;
    const flags = [];
    if (a && a.engineer_id && a.on_time === false) flags.push('<span class="flag late">! late</span>');
    if (o.at_risk) flags.push('<span class="flag risk">⚠ at risk</span>');
    let reason = "";
    if (isUnassigned) {
      const code = (un && un.reason) || (a && a.reason) || "";
      flags.push('<span class="flag none">∅ unassigned</span>');
      reason = `<div class="small"><code>${esc(code)}</code> ${esc(un ? un.detail : "")}</div>`;
    }
    const acts = [];
    if (["open", "planned", "published"].includes(o.status)) acts.push(`<button type="button" data-act="in_progress" data-order="${esc(o.id)}">in progress</button>`);
    if (o.status === "in_progress") acts.push(`<button type="button" data-act="done" data-order="${esc(o.id)}">done</button>`);
    rows.push(`<tr data-order="${esc(o.id)}" data-status="${esc(o.status)}"><td><a href="#" data-show="${esc(o.id)}">${esc(o.id)}</a></td><td>${esc(o.status)}</td><td>${esc(o.priority)}</td><td>${esc(o.commitment_class)}</td><td>${esc(clock.fmtIso(o.deadline))}</td><td>${esc(a && a.engineer_id ? a.engineer_id : "–")}</td><td>${esc(a && a.eta ? clock.fmtIso(a.eta) : "–")}</td><td>${a && a.slack_minutes !== null && a.slack_minutes !== undefined ? esc(minutes(a.slack_minutes)) : "–"}</td><td>${flags.join("")}${reason}</td><td>${acts.join(" ")}</td></tr>`);
  }
  countEl.textContent = `${matched} of ${orders.length}${matched > shown ? ` (first ${shown} shown)` : ""}`;
  el.innerHTML = `<table><caption class="muted small" style="text-align:left">times in ${esc(clock.zone)}</caption><thead><tr><th scope="col">Ticket</th><th scope="col">Status</th><th scope="col">Priority</th><th scope="col">Class</th><th scope="col">Deadline</th><th scope="col">Engineer</th><th scope="col">ETA</th><th scope="col">Slack</th><th scope="col">Flags</th><th scope="col">Mark</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}
