import { $, say, rememberedTenant, validTenant, page, ready } from "./api.js";

const form = $("#choose"), input = $("#tenant"), status = $("#status");
input.value = rememberedTenant();
input.focus();
form.addEventListener("submit", (e) => {
  e.preventDefault();
  const t = input.value.trim().toLowerCase();
  if (!validTenant(t)) return say(status, "Enter the organisation id: 3 to 32 lowercase letters, digits and hyphens.", "error");
  location.assign(page(t));
});
ready();
