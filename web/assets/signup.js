import { $, call, say, busy, tenant, page, ready } from "./api.js";

const t = tenant();
$("#tenant-name").textContent = t;
$(".back").href = page(t);
const form = $("#signup"), status = $("#status");
$("#pin-code").focus();
form.addEventListener("submit", (e) => {
  e.preventDefault();
  const pinCode = $("#pin-code").value.trim(), email = $("#email").value.trim(), username = $("#username").value.trim();
  if (!pinCode || !email || !username) return say(status, "Fill in the PIN code, the e-mail address and the username.", "error");
  busy(form, async () => {
    try {
      const res = await call(t, "POST", "/signups", { pinCode, email, username }, { headers: { "X-Client": "web" } });
      $("#pin-code").value = "";
      say(status, `User ${res.username} created. A temporary password was e-mailed to ${email}.`, "ok");
    } catch (err) {
      const msg = {
        invalid_pin_code: "That PIN code is not valid.",
        pin_signup_disabled: "PIN-code signup is not available for this organisation.",
        username_taken: "That username is taken. Choose another.",
        rate_limited: "Too many attempts. Try again later.",
      }[err.code] || err.message;
      say(status, msg, "error");
    }
  });
});
ready();
