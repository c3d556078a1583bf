import { $, call, say, busy, fragmentToken, forgetFragmentToken, page, ready } from "./api.js";
import { linkTenant } from "./link.js";

const token = fragmentToken("welcome");
const getTenant = linkTenant();
const form = $("#welcome"), status = $("#status");
if (!token) say(status, "This page needs the link from your welcome e-mail. Open the link again.", "error");
($("#tenant-field").hidden ? $("#mobile") : $("#tenant")).focus();
form.addEventListener("submit", (e) => {
  e.preventDefault();
  const t = getTenant(), mobile = $("#mobile").value.trim();
  if (!token) return say(status, "This page needs the link from your welcome e-mail.", "error");
  if (!t) return say(status, "Enter the organisation id.", "error");
  if (!mobile) return say(status, "Enter your mobile number.", "error");
  busy(form, async () => {
    try {
      await call(t, "POST", `/welcome/${encodeURIComponent(token)}`, { mobile });
      forgetFragmentToken("welcome");
      $("#signin-link").href = page(t);
      $("#welcome-card").hidden = true;
      $("#done-card").hidden = false;
      $("#done-title").focus();
    } catch (err) {
      const msg = {
        link_gone: "This link has expired or was already used. Ask your administrator for a new one.",
        validation_failed: "Enter the number in international form, such as +44 7911 123456.",
      }[err.code] || err.message;
      say(status, msg, "error");
    }
  });
});
ready();
