import { $, $$, call, say, busy, tenant, session, saveSession, endSession, page, el, sixDigits, trivialPIN, ready } from "./api.js";
import { live } from "./policy.js";

const t = tenant();
$("#tenant-name").textContent = t;
const s = session(t);
if (!s) location.replace(page(t));
else show();

function show() {
  const u = s.user;
  const rows = [["Username", u.username], ["E-mail", u.email || "—"], ["Mobile", u.mobile || "—"], ["Roles", (u.roles || []).join(", ")]];
  $("#me").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  if ((u.roles || []).some((r) => r === "admin" || r === "agent")) { $("#console-link").hidden = false; $("#console-link").href = page(t, "console"); }
}

$("#signout").addEventListener("click", () => { endSession(t); location.assign(page(t)); });

const pw = $("#password"), pwStatus = $("#pw-status");
const policy = live({
  input: $("#new-password"), confirm: $("#new-password-confirm"), list: $("#pw-rules"), submit: $("#pw-submit"),
  identity: () => ({ username: s ? s.user.username : "", email: s ? s.user.email || "" : "" }),
});
pw.addEventListener("submit", (e) => {
  e.preventDefault();
  if (policy.update().length) return say(pwStatus, "The new password does not meet every rule yet.", "error");
  busy(pw, async () => {
    try {
      await call(t, "PUT", "/me/password", { currentPassword: $("#current-password").value, newPassword: $("#new-password").value }, { token: s.token });
      // A change ends every session of the user, this one too.
      endSession(t);
      pw.reset();
      policy.update();
      say(pwStatus, "Password changed. Sign in again with the new password.", "ok");
      setTimeout(() => location.assign(page(t)), 2500);
    } catch (err) {
      if (err.code === "password_policy") say(pwStatus, "Refused: " + policy.explain(err.rules) + ".", "error");
      else if (err.code === "invalid_credentials") say(pwStatus, "The current password is not right.", "error");
      else if (err.status === 401) { endSession(t); say(pwStatus, "Your session has ended. Sign in again.", "error"); }
      else say(pwStatus, err.message, "error");
    }
  });
});

for (const r of $$("input[name=proof]")) {
  r.addEventListener("change", () => {
    const byPw = $("input[name=proof]:checked").value === "password";
    $("#proof-label").textContent = byPw ? "Current password" : "Current PIN";
    $("#proof-value").setAttribute("inputmode", byPw ? "text" : "numeric");
  });
}
const pinForm = $("#pin"), pinStatus = $("#pin-status");
pinForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const byPw = $("input[name=proof]:checked").value === "password";
  const proof = $("#proof-value").value, newPin = $("#new-pin").value;
  if (!proof) return say(pinStatus, byPw ? "Enter your current password." : "Enter your current PIN.", "error");
  if (!sixDigits.test(newPin)) return say(pinStatus, "The new PIN must be exactly 6 digits.", "error");
  if (newPin !== $("#new-pin-confirm").value) return say(pinStatus, "The two new PINs differ.", "error");
  if (trivialPIN(newPin)) return say(pinStatus, "That PIN is too simple: avoid one digit repeated and straight runs such as 123456.", "error");
  busy(pinForm, async () => {
    try {
      const body = byPw ? { currentPassword: proof, newPin } : { currentPin: proof, newPin };
      await call(t, "PUT", "/me/pin", body, { token: s.token });
      pinForm.reset();
      s.user.pinSet = true;
      saveSession(t, s);
      say(pinStatus, "PIN changed.", "ok");
    } catch (err) {
      const msg = { invalid_credentials: `The current ${byPw ? "password" : "PIN"} is not right.`, pin_too_simple: "That PIN is too simple." }[err.code] || err.message;
      say(pinStatus, msg, "error");
    }
  });
});
ready();
