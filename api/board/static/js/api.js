// The API client: every call carries Authorization: Bearer <key>; answers are never thrown.

export class Api {
  constructor(key) { this.key = key; }

  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.key}`, Accept: "application/json" };
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      return { ok: false, status: 0, data: { title: "network error", detail: String(err) } };
    }
    let data = null;
    const text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch { data = { detail: text }; }
    }
    return { ok: res.ok, status: res.status, data };
  }

  get(path) { return this.call("GET", path); }
  post(path, body) { return this.call("POST", path, body ?? {}); }
  patch(path, body) { return this.call("PATCH", path, body); }
  del(path) { return this.call("DELETE", path); }

  /** Every item of a cursor-paged list (items + next_cursor). */
  async all(path, limit = 500) {
    const items = [];
    let cursor = null;
    for (let i = 0; i < 1000; i++) {
      const sep = path.includes("?") ? "&" : "?";
      const url = `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const r = await this.get(url);
      if (!r.ok) return r;
      items.push(...r.data.items);
      cursor = r.data.next_cursor;
      if (!cursor) break;
    }
    return { ok: true, status: 200, data: items };
  }
}

export function problemText(r) {
  const d = r.data || {};
  const errs = (d.errors || []).map((e) => `${e.path}: ${e.message}`).join("; ");
  return `${r.status} ${d.title || ""}${d.detail ? `: ${d.detail}` : ""}${errs ? ` (${errs})` : ""}`.trim();
}
