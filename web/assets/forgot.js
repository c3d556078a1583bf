import { $, call, say, busy, tenant, page, ready } from "./api.js";

const t = tenant();
$("#tenant-name").textContent = t;
$(".back").href = page(t);
const form = $("#forgot"), status = $("#status");
$("#username").focus();
form.addEventListener("submit", (e) => {
  e.preventDefault();
  const username = $("#username").value.trim();
  if (!username) return say(status, "Enter your username.", "error");
  busy(form, async () => {
    try {
      // The API answers 202 whether or not the username exists.
      await call(t, "POST", "/password-resets", { username });
      say(status, "If that username has an e-mail address, a temporary password is on its way. Sign in with it to choose a new password.", "ok");
    } catch (err) {
      say(status, err.code === "rate_limited" ? "Too many requests for this username. Try again later." : err.message, "error");
    }
  });
});
ready();
