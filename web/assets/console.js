// The admin and agent console. Every action is one call of the documented
// API (api/openapi.yaml) with the signed-in user's bearer token, which stays
// in sessionStorage; the API decides who may do what, and the console only
// hides what a role can never use.
import { $, $$, call, say, busy, tenant, session, endSession, page, el, sixDigits, ready } from "./api.js";

const t = tenant();
const s = session(t);
const status = $("#console-status");
$("#tenant-name").textContent = t;
$("#profile-link").href = page(t, "profile");
$("#signout").addEventListener("click", () => { endSession(t); location.assign(page(t)); });

const roles = new Set(s ? s.user.roles || [] : []);
const isAdmin = roles.has("admin");
const api = (method, path, body) => call(t, method, path, body, { token: s.token });
const fmt = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

function failed(where, err) {
  if (err.status === 401) { endSession(t); say(status, "Your session has ended. Sign in again.", "error"); }
  say(where, err.message + (err.problems.length ? " " + err.problems.join("; ") : ""), "error");
}

// ---- tabs -------------------------------------------------------------
const tabs = $$("#tabs [role=tab]");
const loaders = {};
function select(tab) {
  for (const b of tabs) {
    const on = b === tab;
    b.setAttribute("aria-selected", on);
    b.tabIndex = on ? 0 : -1;
    $("#" + b.getAttribute("aria-controls")).hidden = !on;
  }
  const load = loaders[tab.getAttribute("aria-controls")];
  if (load) load();
}
for (const b of tabs) {
  b.addEventListener("click", () => select(b));
  b.addEventListener("keydown", (e) => {
    const shown = tabs.filter((x) => !x.hidden);
    const i = shown.indexOf(b);
    const next = e.key === "ArrowRight" ? shown[(i + 1) % shown.length] : e.key === "ArrowLeft" ? shown[(i - 1 + shown.length) % shown.length] : null;
    if (next) { e.preventDefault(); next.focus(); select(next); }
  });
}

// ---- users ------------------------------------------------------------
let settings = null;
let cursor = "";
const rows = new Map(); // user id → user

async function loadSettings() {
  if (!isAdmin) return null;
  settings = await api("GET", "/settings");
  return settings;
}

function selfServeLocked() { return settings && settings.selfServe === false; }

function userRow(u) {
  const lockedOut = selfServeLocked();
  const sw = el("input", { type: "checkbox", "aria-label": `Self-serve for ${u.username}`, disabled: lockedOut, title: lockedOut ? "Self-serve is off for the whole organisation" : null });
  sw.checked = u.selfServe;
  sw.addEventListener("change", () => setSelfServe([u.id], sw.checked));
  return el("tr", { "data-user": u.id },
    el("td", {}, el("input", { type: "checkbox", class: "pick", value: u.id, "aria-label": `Select ${u.username}` })),
    el("td", {}, u.username, u.pinCodeUser ? el("span", { class: "badge pincode", title: "PIN-code user" }, " 🔑 PIN-code user") : null),
    el("td", { class: "optional" }, u.email || "—"),
    el("td", { class: "optional" }, u.mobile || "—"),
    el("td", {}, u.registrationStatus.replaceAll("_", " ")),
    el("td", {}, sw),
    el("td", {}, el("span", { class: "badge " + (u.locked ? "locked" : "off") }, u.locked ? "locked" : "unlocked")),
    el("td", {}, el("button", { type: "button", class: "small", onclick: () => openUser(u.id) }, "Manage", el("span", { class: "visually-hidden" }, ` ${u.username}`))),
  );
}

function renderUser(u) {
  rows.set(u.id, u);
  const old = $(`#users-table tr[data-user="${CSS.escape(u.id)}"]`);
  const row = userRow(u);
  if (old) old.replaceWith(row); else $("#users-table tbody").append(row);
}

async function loadUsers(more = false) {
  const st = $("#users-status");
  if (!more) { cursor = ""; rows.clear(); $("#users-table tbody").replaceChildren(); }
  try {
    if (!settings) await loadSettings();
    $("#selfserve-reason").hidden = !selfServeLocked();
    $("#bulk-on").disabled = $("#bulk-off").disabled = selfServeLocked();
    const q = new URLSearchParams({ limit: "50" });
    if (cursor) q.set("cursor", cursor);
    const res = await api("GET", "/users?" + q);
    res.users.forEach(renderUser);
    cursor = res.nextCursor || "";
    $("#users-more").hidden = !cursor;
    say(st, `${rows.size} users shown.`);
  } catch (err) { failed(st, err); }
}
loaders.users = () => { if (isAdmin) loadUsers(); };
$("#users-more").addEventListener("click", () => loadUsers(true));
$("#select-all").addEventListener("change", (e) => $$("#users-table .pick").forEach((c) => (c.checked = e.target.checked)));

async function setSelfServe(ids, enabled) {
  const st = $("#users-status");
  if (!ids.length) return say(st, "Select at least one user.", "error");
  try {
    const res = await api("POST", "/users/self-serve", { userIds: ids, enabled });
    say(st, `Self-serve ${enabled ? "on" : "off"}: ${res.updated} updated, ${res.refused} refused.`, res.refused ? "error" : "ok");
    for (const r of res.results) if (r.status === "updated" && rows.has(r.userId)) renderUser({ ...rows.get(r.userId), selfServe: enabled });
  } catch (err) {
    failed(st, err);
    if (err.code === "tenant_self_service_disabled") { settings = null; loadUsers(); }
  }
}
const picked = () => $$("#users-table .pick:checked").map((c) => c.value);
$("#bulk-on").addEventListener("click", () => setSelfServe(picked(), true));
$("#bulk-off").addEventListener("click", () => setSelfServe(picked(), false));

$("#create-user").addEventListener("submit", (e) => {
  e.preventDefault();
  const st = $("#create-status");
  const u = { username: $("#new-username").value.trim(), email: $("#new-email").value.trim(), roles: [$("#new-role").value] };
  const mobile = $("#new-mobile").value.trim();
  if (mobile) u.mobile = mobile;
  busy(e.target, async () => {
    try {
      const res = await api("POST", "/users", { users: [u] });
      const r = res.results[0];
      if (r.status !== "created") return say(st, `Refused: ${r.error ? r.error.message : r.status}`, "error");
      say(st, `Created ${r.username}; a temporary password was e-mailed.`, "ok");
      e.target.reset();
      loadUsers();
    } catch (err) { failed(st, err); }
  });
});

// ---- one user -----------------------------------------------------------
const ud = $("#user-dialog");
let current = null;
$("#user-close").addEventListener("click", () => ud.close());
$$(".admin-only", ud).forEach((x) => (x.hidden = !isAdmin));

async function openUser(id) {
  const st = $("#user-status");
  say(st, "");
  current = rows.get(id) || { id, username: id };
  if (isAdmin) {
    try { current = await api("GET", "/users/" + encodeURIComponent(id)); renderUser(current); } catch (err) { failed(st, err); }
  }
  showUser();
  if (!ud.open) ud.showModal();
  if (isAdmin) loadNotifications(id);
}

function showUser() {
  const u = current;
  $("#user-title").textContent = u.username;
  const facts = [["E-mail", u.email], ["Mobile", u.mobile], ["Roles", (u.roles || []).join(", ")], ["Locked", u.locked == null ? "" : u.locked ? "yes" : "no"],
    ["PIN-code user", u.pinCodeUser == null ? "" : u.pinCodeUser ? "yes" : "no"], ["Password expires", u.passwordExpiresOn]].filter(([, v]) => v);
  $("#user-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("#u-lock").disabled = u.locked === true;
  $("#u-unlock").disabled = u.locked === false;
}

async function loadNotifications(id) {
  const body = $("#notifications tbody");
  body.replaceChildren();
  try {
    const res = await api("GET", `/users/${encodeURIComponent(id)}/notifications`);
    if (!res.notifications.length) body.append(el("tr", {}, el("td", { colspan: "4" }, "No notices sent.")));
    for (const n of res.notifications) {
      body.append(el("tr", {}, el("td", {}, n.date), el("td", {}, n.kind), el("td", {}, fmt(n.sentAt)),
        el("td", {}, n.channels.map((c) => `${c.channel}: ${c.result}`).join(", "))));
    }
  } catch (err) { failed($("#user-status"), err); }
}

function userAction(button, fn) {
  $(button).addEventListener("click", async () => {
    await busy(ud, async () => {
      const st = $("#user-status");
      try { say(st, await fn(current), "ok"); } catch (err) { failed(st, err); }
    });
    showUser(); // after busy() has given the buttons back their old state
  });
}
const uid = (u) => "/users/" + encodeURIComponent(u.id);
userAction("#u-reset", async (u) => `Temporary password sent to ${(await api("POST", uid(u) + "/password-reset")).sentTo}.`);
userAction("#u-lock", async (u) => { await api("POST", uid(u) + "/lock"); current = { ...u, locked: true }; showUser(); if (rows.has(u.id)) renderUser(current); return `${u.username} is locked.`; });
userAction("#u-unlock", async (u) => { await api("POST", uid(u) + "/unlock"); current = { ...u, locked: false }; showUser(); if (rows.has(u.id)) renderUser(current); return `${u.username} is unlocked.`; });
userAction("#u-welcome", async (u) => `Welcome link sent to ${(await api("POST", uid(u) + "/welcome")).sentTo}.`);
userAction("#u-pincode", async (u) => {
  const res = await api("POST", uid(u) + "/pin-code");
  current = { ...u, pinCodeUser: true }; showUser(); renderUser(current);
  return `New PIN code (shown once): ${res.pinCode}`;
});
userAction("#u-revoke", async (u) => { await api("DELETE", uid(u) + "/pin-code"); current = { ...u, pinCodeUser: false }; showUser(); renderUser(current); return "PIN code revoked."; });
userAction("#u-pincode-email", async (u) => {
  const to = $("#u-pincode-to").value.trim();
  await api("POST", uid(u) + "/pin-code/email", to ? { to } : {});
  return `PIN code e-mailed to ${to || "the user"}.`;
});
userAction("#u-pin-set", async (u) => {
  const pin = $("#u-pin").value;
  await api("PUT", uid(u) + "/pin", { pin });
  $("#u-pin").value = "";
  return `User PIN set for ${u.username}; they will be asked to change it.`;
});
$("#by-id").addEventListener("submit", (e) => { e.preventDefault(); const id = $("#user-id").value.trim(); if (id) openUser(id); });

// ---- accounts and the security verification modal ------------------------
let account = null;
let timer = 0;

async function openAccount(id) {
  const st = $("#account-status");
  try {
    account = await api("GET", "/accounts/" + encodeURIComponent(id));
    say(st, "");
    showAccount();
  } catch (err) { $("#account-view").hidden = true; failed(st, err); }
}

function showAccount() {
  const a = account;
  $("#account-view").hidden = false;
  $("#account-name").textContent = a.name;
  $("#contacts-table tbody").replaceChildren(...a.contacts.map((c) => el("tr", {}, el("td", {}, c.name), el("td", {}, c.role), el("td", { class: "optional" }, c.email || "—"), el("td", { class: "optional" }, c.mobile || "—"))));
  $("#edit-id").value = a.id;
  $("#edit-name").value = a.name;
  $("#edit-contacts").value = a.contacts.map((c) => [c.id, c.name, c.role, c.email || "", c.mobile || ""].join(", ")).join("\n");
  showSecurity();
  clearInterval(timer);
  // The button turns red by itself when the verified hour is over.
  timer = setInterval(showSecurity, 15000);
}

const verifiedNow = (ss) => ss.verified && ss.verifiedUntil && Date.parse(ss.verifiedUntil) > Date.now();

function showSecurity() {
  if (!account) return;
  const ss = account.securityStatus;
  const ok = verifiedNow(ss);
  const b = $("#security-button");
  b.className = ok ? "verified" : "unverified";
  b.textContent = ok ? `Security PIN: verified until ${new Date(ss.verifiedUntil).toLocaleTimeString()}` : "Security PIN: not verified";
  $("#security-state").textContent = [
    ss.pinSet ? "A PIN is set." : "No PIN yet: send a set-up link to the owner or an authorized contact.",
    ok ? `Verified by ${ss.method === "code" ? "2-step code" : "PIN"} until ${fmt(ss.verifiedUntil)}.` : "Not verified.",
    ss.locked ? "PIN verification is locked after too many wrong PINs: send a reset link." : "",
  ].filter(Boolean).join(" ");
  const canVerify = ss.pinSet && !ss.locked;
  $("#verify-pin-button").disabled = $("#verify-pin-input").disabled = !canVerify;
  $("#verify-pin-hint").textContent = !ss.pinSet ? "Verify PIN is available once the client has set up a PIN." : ss.locked ? "Locked: reset the PIN first." : "Ask the client for their PIN and type it here.";
  $("#pin-link-button").textContent = ss.pinSet ? "Reset PIN" : "Create PIN";
}

async function refreshStatus() {
  account.securityStatus = await api("GET", `/accounts/${encodeURIComponent(account.id)}/security-status`);
  showSecurity();
}

$("#open-account").addEventListener("submit", (e) => { e.preventDefault(); const id = $("#account-id").value.trim(); if (id) openAccount(id); });
$("#edit-account").addEventListener("submit", (e) => {
  e.preventDefault();
  const st = $("#edit-status");
  const id = $("#edit-id").value.trim();
  const contacts = $("#edit-contacts").value.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
    const [cid, name, role, email, mobile] = l.split(",").map((x) => x.trim());
    const c = { id: cid, name, role };
    if (email) c.email = email;
    if (mobile) c.mobile = mobile;
    return c;
  });
  busy(e.target, async () => {
    try {
      account = await api("PUT", "/accounts/" + encodeURIComponent(id), { name: $("#edit-name").value.trim(), contacts });
      say(st, "Account saved.", "ok");
      $("#account-id").value = id;
      showAccount();
    } catch (err) { failed(st, err); }
  });
});

const sd = $("#security-dialog");
const sst = $("#security-status");
$("#security-button").addEventListener("click", async () => {
  say(sst, "");
  $("#pick-contact").hidden = true;
  sd.showModal();
  try { await refreshStatus(); } catch (err) { failed(sst, err); }
});
$("#security-close").addEventListener("click", () => sd.close());

$("#verify-pin").addEventListener("submit", (e) => {
  e.preventDefault();
  const pin = $("#verify-pin-input").value.trim();
  if (!sixDigits.test(pin)) return say(sst, "Enter the 6 digits the client says.", "error");
  busy(e.target, async () => {
    // The result is said once the status is fresh and the form usable again.
    let said = () => {};
    try {
      const res = await api("POST", `/accounts/${encodeURIComponent(account.id)}/security-pin/verify`, { pin });
      said = () => say(sst, `PIN verified until ${fmt(res.verifiedUntil)}.`, "ok");
    } catch (err) {
      if (err.code === "wrong_pin") said = () => say(sst, `The PIN does not match. ${err.attemptsRemaining} attempts remain. Ask the client to repeat it, reset the PIN or send a 2-step code.`, "error");
      else said = () => failed(sst, err);
    }
    $("#verify-pin-input").value = "";
    await refreshStatus().catch(() => {});
    return said;
  }).then((said) => said());
});

// The contact picker: links go only to owner and authorized contacts; a
// 2-step code to any contact with an address.
let picking = "";
function pick(kind) {
  picking = kind;
  const allowed = account.contacts.filter((c) => (kind === "link" ? c.role === "owner" || c.role === "authorized" : c.email || c.mobile));
  $("#pick-legend").textContent = kind === "link" ? `${account.securityStatus.pinSet ? "Reset" : "Set-up"} link to (owner or authorized contact)` : "2-step verification code to";
  $("#pick-list").replaceChildren(...allowed.map((c, i) => el("label", {}, el("input", { type: "radio", name: "contact", value: c.id, checked: i === 0 }), ` ${c.name} (${c.role})`)));
  $("#pick-send").disabled = !allowed.length;
  if (!allowed.length) say(sst, "The account has no contact who may receive this.", "error");
  $("#pick-contact").hidden = false;
  const first = $("#pick-list input");
  if (first) first.focus();
}
$("#pin-link-button").addEventListener("click", () => pick("link"));
$("#code-button").addEventListener("click", () => pick("code"));
$("#pick-cancel").addEventListener("click", () => ($("#pick-contact").hidden = true));
$("#pick-contact").addEventListener("submit", (e) => {
  e.preventDefault();
  const chosen = $("#pick-list input:checked");
  if (!chosen) return say(sst, "Choose a contact.", "error");
  const path = `/accounts/${encodeURIComponent(account.id)}/` + (picking === "link" ? "security-pin/links" : "verification-codes");
  busy(e.target, async () => {
    try {
      const res = await api("POST", path, { contactId: chosen.value });
      const to = [res.sentTo.email, res.sentTo.sms].filter(Boolean).join(" and ");
      $("#pick-contact").hidden = true;
      if (picking === "link") say(sst, `${res.purpose === "reset" ? "Reset" : "Set-up"} link sent to ${to}; valid until ${fmt(res.expiresAt)}.`, "ok");
      else {
        say(sst, `Code sent to ${to}; valid until ${fmt(res.expiresAt)}. Enter the code the client reads back.`, "ok");
        $("#verify-code").hidden = false;
        $("#verify-code-input").focus();
      }
    } catch (err) { failed(sst, err); }
  });
});
$("#verify-code").addEventListener("submit", (e) => {
  e.preventDefault();
  const code = $("#verify-code-input").value.trim();
  if (!sixDigits.test(code)) return say(sst, "Enter the 6-digit code.", "error");
  busy(e.target, async () => {
    let said = () => {};
    try {
      const res = await api("POST", `/accounts/${encodeURIComponent(account.id)}/verification-codes/verify`, { code });
      said = () => { say(sst, `Code verified: the client is verified until ${fmt(res.verifiedUntil)}.`, "ok"); $("#verify-code").hidden = true; };
    } catch (err) {
      if (err.code === "wrong_code") said = () => say(sst, `The code does not match. ${err.attemptsRemaining} attempts remain.`, "error");
      else said = () => failed(sst, err);
    }
    $("#verify-code-input").value = "";
    await refreshStatus().catch(() => {});
    return said;
  }).then((said) => said());
});

// ---- settings -----------------------------------------------------------
const CHOICES = { pinSignup: ["off", "web", "all"] };
function field(path, value) {
  const id = "set-" + path.join("-");
  const name = path[path.length - 1];
  let input;
  if (typeof value === "boolean") {
    input = el("input", { type: "checkbox", id, "data-path": path.join(".") });
    input.checked = value;
    return el("div", {}, el("label", { for: id }, input, " " + name));
  }
  if (CHOICES[name]) input = el("select", { id, "data-path": path.join(".") }, ...CHOICES[name].map((c) => el("option", { selected: c === value }, c)));
  else input = el("input", { id, type: typeof value === "number" ? "number" : "text", "data-path": path.join("."), value: String(value) });
  return el("div", {}, el("label", { for: id }, name), input);
}
loaders.settings = async () => {
  const st = $("#settings-status");
  try {
    const cur = await loadSettings();
    const out = [];
    for (const [k, v] of Object.entries(cur)) {
      if (v && typeof v === "object") out.push(el("fieldset", {}, el("legend", {}, k), ...Object.entries(v).map(([k2, v2]) => field([k, k2], v2))));
      else out.push(field([k], v));
    }
    $("#settings-fields").replaceChildren(...out);
  } catch (err) { failed(st, err); }
};
$("#settings-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const st = $("#settings-status");
  const next = structuredClone(settings);
  for (const input of $$("[data-path]", e.target)) {
    const path = input.dataset.path.split(".");
    let o = next;
    for (const p of path.slice(0, -1)) o = o[p];
    const k = path[path.length - 1];
    o[k] = input.type === "checkbox" ? input.checked : typeof o[k] === "number" ? Number(input.value) : input.value;
  }
  busy(e.target, async () => {
    try { settings = await api("PUT", "/settings", next); say(st, "Settings saved.", "ok"); } catch (err) { failed(st, err); }
  });
});

// ---- templates ----------------------------------------------------------
const NAMES = ["ACCOUNT_LOCKED", "PASSWORD_CHANGED", "PASSWORD_EMAIL_CHANGE", "PASSWORD_EMAIL_NEW", "PASSWORD_EXPIRES_TODAY", "PASSWORD_EXPIRY_REMINDER",
  "PINCODE_EMAIL_BODY", "PIN_CHANGED", "SECURITY_PIN_RESET", "SECURITY_PIN_SETUP", "VERIFICATION_CODE", "WELCOME"];
$("#template-name").replaceChildren(...NAMES.map((n) => el("option", {}, n)));
const tname = () => "/templates/" + $("#template-name").value;
const draft = () => ({ subject: $("#template-subject").value, text: $("#template-text").value, html: $("#template-html").value, sms: $("#template-sms").value });
function showTemplate(tp) {
  $("#template-subject").value = tp.subject;
  $("#template-text").value = tp.text;
  $("#template-html").value = tp.html;
  $("#template-sms").value = tp.sms;
  $("#template-fields").textContent = `${tp.isDefault ? "Default template. " : "This organisation's own template. "}Merge fields: ${tp.fields.map((f) => `{{${f}}}`).join(" ")}; required: ${tp.requiredFields.map((f) => `{{${f}}}`).join(" ") || "none"}.`;
}
loaders.templates = async () => {
  const st = $("#template-status");
  $("#preview").hidden = true;
  try { showTemplate(await api("GET", tname())); say(st, ""); } catch (err) { failed(st, err); }
};
$("#template-name").addEventListener("change", () => loaders.templates());
$("#template-form").addEventListener("submit", (e) => {
  e.preventDefault();
  busy(e.target, async () => {
    try { showTemplate(await api("PUT", tname(), draft())); say($("#template-status"), "Template saved.", "ok"); } catch (err) { failed($("#template-status"), err); }
  });
});
$("#template-preview").addEventListener("click", () => busy($("#template-form"), async () => {
  try {
    const p = await api("POST", tname() + "/preview", draft());
    $("#preview-subject").textContent = p.subject;
    $("#preview-text").textContent = p.text;
    $("#preview-html").srcdoc = p.html;
    $("#preview-sms").textContent = p.sms ? "SMS: " + p.sms : "";
    $("#preview").hidden = false;
    say($("#template-status"), "Preview with sample values below.", "ok");
  } catch (err) { failed($("#template-status"), err); }
}));
$("#template-default").addEventListener("click", () => busy($("#template-form"), async () => {
  try { await api("DELETE", tname()); await loaders.templates(); say($("#template-status"), "The default template applies again.", "ok"); } catch (err) { failed($("#template-status"), err); }
}));

// ---- audit log ------------------------------------------------------------
const AUDIT_PAGE = 20;
const pages = [""]; // cursors of the pages seen; the last is the current page's
let nextAudit = "";
async function loadAudit() {
  const st = $("#audit-status");
  const q = new URLSearchParams({ limit: String(AUDIT_PAGE) });
  const cur = pages[pages.length - 1];
  if (cur) q.set("cursor", cur);
  try {
    const res = await api("GET", "/audit?" + q);
    $("#audit-table tbody").replaceChildren(...res.events.map((ev) => el("tr", {},
      el("td", {}, fmt(ev.at)), el("td", {}, ev.action), el("td", {}, ev.result), el("td", {}, ev.actor),
      el("td", { class: "optional" }, ev.subject), el("td", { class: "optional" }, ev.reason || ""), el("td", { class: "optional" }, ev.requestId))));
    nextAudit = res.nextCursor || "";
    $("#audit-older").disabled = !nextAudit;
    $("#audit-newer").disabled = pages.length === 1;
    $("#audit-page").textContent = `Page ${pages.length}`;
    say(st, "");
  } catch (err) { failed(st, err); }
}
loaders.audit = () => { pages.length = 1; loadAudit(); };
$("#audit-older").addEventListener("click", () => { if (nextAudit) { pages.push(nextAudit); loadAudit(); } });
$("#audit-newer").addEventListener("click", () => { if (pages.length > 1) { pages.pop(); loadAudit(); } });

// ---- start ----------------------------------------------------------------
if (!s) {
  say(status, "Sign in first.", "error");
  location.replace(page(t));
} else if (!isAdmin && !roles.has("agent")) {
  say(status, "The console is for admins and agents.", "error");
  $("#tabs").hidden = true;
} else {
  $("#who").textContent = `${s.user.username} (${[...roles].join(", ")})`;
  for (const b of tabs) b.hidden = !b.dataset.roles.split(" ").some((r) => roles.has(r));
  $("#users-admin").hidden = !isAdmin;
  $("#users-agent").hidden = isAdmin;
  select(tabs.find((b) => !b.hidden));
}
ready();
