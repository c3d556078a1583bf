import { $, $$, call, say, busy, tenant, saveSession, page, session, ready } from "./api.js";
import { live } from "./policy.js";

const t = tenant();
$("#tenant-name").textContent = t;
$("#forgot-link").href = page(t, "forgot");
$("#pincode-link").href = page(t, "signup");
const form = $("#signin"), status = $("#signin-status");
const pwField = $("#password-field"), pinField = $("#pin-field");
let challenge = null; // {session, expiresAt}: kept in memory only

if (session(t)) say(status, "You are signed in.", "ok");
$("#username").focus();

for (const r of $$("input[name=method]")) {
  r.addEventListener("change", () => {
    const pin = $("input[name=method]:checked").value === "pin";
    pwField.hidden = pin;
    pinField.hidden = !pin;
  });
}

function done(tok) {
  saveSession(t, tok);
  const staff = (tok.user.roles || []).some((r) => r === "admin" || r === "agent");
  location.assign(page(t, staff ? "console" : "profile"));
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const username = $("#username").value.trim();
  const usePIN = $("input[name=method]:checked").value === "pin";
  const secret = usePIN ? $("#pin").value : $("#password").value;
  if (!username || !secret) return say(status, `Enter your username and ${usePIN ? "PIN" : "password"}.`, "error");
  busy(form, async () => {
    say(status, "Signing in…");
    try {
      const body = usePIN ? { username, pin: secret } : { username, password: secret };
      const res = await call(t, "POST", "/sessions", body);
      if (res.challenge === "NEW_PASSWORD_REQUIRED") {
        challenge = { session: res.session, expiresAt: res.expiresAt, username };
        $("#password").value = "";
        $("#signin-card").hidden = true;
        $("#newpw-card").hidden = false;
        $("#new-password").focus();
        return;
      }
      done(res);
    } catch (err) {
      const msg = {
        invalid_credentials: "The username or " + (usePIN ? "PIN" : "password") + " is not right.",
        account_locked: "This account is locked. Try again later, or ask your administrator.",
      }[err.code] || err.message;
      say(status, msg, "error");
    }
  });
});

const np = $("#newpw"), npStatus = $("#newpw-status");
const policy = live({
  input: $("#new-password"), confirm: $("#new-password-confirm"), list: $("#newpw-rules"),
  submit: $("#newpw-submit"), identity: () => ({ username: challenge ? challenge.username : "" }),
});
np.addEventListener("submit", (e) => {
  e.preventDefault();
  if (policy.update().length) return say(npStatus, "The password does not meet every rule yet.", "error");
  busy(np, async () => {
    say(npStatus, "Saving…");
    try {
      const res = await call(t, "POST", "/sessions/new-password", { session: challenge.session, newPassword: $("#new-password").value });
      challenge = null;
      done(res);
    } catch (err) {
      if (err.code === "password_policy") say(npStatus, "Refused: " + policy.explain(err.rules) + ".", "error");
      else if (err.status === 401) say(npStatus, "This step has expired. Sign in again with your temporary password.", "error");
      else say(npStatus, err.message, "error");
    }
  });
});
ready();
