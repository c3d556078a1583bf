// Shared helpers of every page: the tenant, calls to the documented HTTP API
// (api/openapi.yaml, same origin, so no CORS), the signed-in session, and
// small DOM helpers. Bearer tokens live in sessionStorage (gone when the tab
// closes) and never in a URL; link tokens come from the URL fragment.

const TENANT = /^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$/;

/** The tenant of this page: /t/<tenant>/…, else the one last used here (a
 *  convenience for the e-mailed links, which carry no tenant), else "". */
export function tenant() {
  const m = location.pathname.match(/^\/t\/([a-z0-9][a-z0-9-]{1,30}[a-z0-9])(\/|$)/);
  if (m) {
    try { localStorage.setItem("latchkey.tenant", m[1]); } catch { /* storage off */ }
    return m[1];
  }
  return "";
}

/** The tenant remembered from an earlier visit, for prefilling a field. */
export function rememberedTenant() {
  try { return localStorage.getItem("latchkey.tenant") || ""; } catch { return ""; }
}

export function validTenant(t) { return TENANT.test(t); }

/** A page path of the tenant: page("forgot") is /t/<tenant>/forgot. */
export function page(t, name = "") { return `/t/${t}/${name}`; }

/** ApiError is a non-2xx answer: code and message from the error body,
 *  plus rules (password_policy), problems and attemptsRemaining. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `The request failed (${status}).`);
    this.status = status;
    this.code = e.code || "http_" + status;
    this.rules = e.rules || [];
    this.problems = e.problems || [];
    this.attemptsRemaining = body && body.attemptsRemaining;
    this.body = body;
  }
}

/** call sends one request to /v1/tenants/<t><path> and returns the JSON
 *  body (or {} for 204), throwing ApiError for any other status. */
export async function call(t, method, path, body, { token, headers = {} } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (token) h.Authorization = "Bearer " + token;
  let res;
  try {
    res = await fetch(`/v1/tenants/${encodeURIComponent(t)}${path}`, {
      method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, { error: { code: "network", message: "Latchkey could not be reached. Check your connection and try again." } });
  }
  const text = await res.text();
  let json = {};
  if (text) { try { json = JSON.parse(text); } catch { json = {}; } }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

const key = (t) => "latchkey.session." + t;

/** The signed-in session of tenant t ({token, expiresAt, user}) or null. */
export function session(t) {
  try {
    const s = JSON.parse(sessionStorage.getItem(key(t)) || "null");
    if (s && Date.parse(s.expiresAt) > Date.now()) return s;
  } catch { /* ignore */ }
  return null;
}

export function saveSession(t, s) { sessionStorage.setItem(key(t), JSON.stringify(s)); }
export function endSession(t) { sessionStorage.removeItem(key(t)); }

/** A link token from the URL fragment (#<token>). It is moved to
 *  sessionStorage and the fragment removed, so it stays out of the history
 *  and of anything the page later shares; a reload still finds it. */
export function fragmentToken(name) {
  const k = "latchkey.link." + name;
  const h = location.hash.slice(1);
  if (h) {
    sessionStorage.setItem(k, decodeURIComponent(h));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(k) || "";
}

export function forgetFragmentToken(name) { sessionStorage.removeItem("latchkey.link." + name); }

/** ready marks the page as set up (its handlers bound, its focus placed),
 *  for the browser tests, which wait for it before typing. */
export function ready() { document.documentElement.dataset.ready = "1"; }

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** say writes a message into a live status region. */
export function say(el, text, kind = "") {
  el.textContent = text;
  el.className = "status" + (kind ? " " + kind : "");
}

/** el builds an element: el("td", {class: "x"}, "text", child…). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c != null) e.append(c instanceof Node ? c : String(c));
  return e;
}

/** busy disables a form's buttons while fn runs. */
export async function busy(form, fn) {
  const buttons = $$("button", form);
  buttons.forEach((b) => (b.dataset.was = b.disabled ? "1" : "", b.disabled = true));
  form.setAttribute("aria-busy", "true");
  try { return await fn(); } finally {
    buttons.forEach((b) => (b.disabled = b.dataset.was === "1"));
    form.removeAttribute("aria-busy");
  }
}

/** sixDigits is the shape of a security PIN, user PIN and code. */
export const sixDigits = /^[0-9]{6}$/;

/** trivialPIN mirrors the API's refusal of trivial PINs (all one digit or
 *  a straight run up or down); the API stays the judge. */
export function trivialPIN(p) {
  if (!sixDigits.test(p)) return false;
  if (/^(\d)\1{5}$/.test(p)) return true;
  let up = true, down = true;
  for (let i = 1; i < 6; i++) {
    const d = p.charCodeAt(i) - p.charCodeAt(i - 1);
    up = up && d === 1; down = down && d === -1;
  }
  return up || down;
}
