import { $, call, say, busy, fragmentToken, forgetFragmentToken, sixDigits, trivialPIN, ready } from "./api.js";
import { linkTenant } from "./link.js";

const token = fragmentToken("security-pin");
const getTenant = linkTenant();
const form = $("#setup"), info = $("#link-info"), status = $("#status");

async function inspect() {
  const t = getTenant();
  if (!token) { info.textContent = "This page needs the link from your e-mail or text message. Open the link again."; return; }
  if (!t) { info.textContent = "Enter the organisation id to check your link."; form.hidden = false; $("#tenant").focus(); return; }
  try {
    const l = await call(t, "GET", `/security-pin/links/${encodeURIComponent(token)}`);
    const until = new Date(l.expiresAt).toLocaleString();
    info.textContent = `${l.purpose === "reset" ? "Reset" : "Set up"} the security PIN of ${l.accountName}. This link works once, until ${until}.`;
    $("#title").textContent = l.purpose === "reset" ? "Reset your security PIN" : "Set your security PIN";
    form.hidden = false;
    $("#pin-fields").hidden = false;
    if ($("#tenant-field")) $("#tenant-field").hidden = true;
    $("#pin").focus();
  } catch (err) {
    if (err.code === "link_gone") { info.textContent = "This link has expired or was already used. Ask for a new one."; forgetFragmentToken("security-pin"); }
    else if (err.status === 404) { info.textContent = "This link does not belong to that organisation. Check the organisation id."; form.hidden = false; }
    else info.textContent = err.message;
  }
}

$("#tenant-go").addEventListener("click", () => inspect());
form.addEventListener("submit", (e) => {
  e.preventDefault();
  const t = getTenant(), pin = $("#pin").value, pinConfirm = $("#pin-confirm").value;
  if (!t) return say(status, "Enter the organisation id.", "error");
  if (!sixDigits.test(pin)) return say(status, "The PIN must be exactly 6 digits.", "error");
  if (pin !== pinConfirm) return say(status, "The two PINs differ. Enter the same PIN twice.", "error");
  if (trivialPIN(pin)) return say(status, "That PIN is too simple: avoid one digit repeated and straight runs such as 123456.", "error");
  busy(form, async () => {
    try {
      await call(t, "POST", `/security-pin/links/${encodeURIComponent(token)}`, { pin, pinConfirm });
      forgetFragmentToken("security-pin");
      $("#setup-card").hidden = true;
      $("#done-card").hidden = false;
      $("#done-title").focus();
    } catch (err) {
      const msg = {
        pin_mismatch: "The two PINs differ. Enter the same PIN twice.",
        pin_too_simple: "That PIN is too simple: avoid one digit repeated and straight runs such as 123456.",
        link_gone: "This link has expired or was already used. Ask for a new one.",
      }[err.code] || err.message;
      say(status, msg, "error");
    }
  });
});
$("#pin-fields").hidden = true;
inspect();
ready();
