// The tenant of a page opened from an e-mailed link: from the path when the
// link has one (/t/<tenant>/…), else from a field prefilled with the
// organisation last used in this browser.
import { $, tenant, rememberedTenant, validTenant } from "./api.js";

export function linkTenant() {
  const t = tenant();
  if (t) return () => t;
  const field = $("#tenant-field"), input = $("#tenant");
  field.hidden = false;
  input.value = rememberedTenant();
  input.required = true;
  return () => {
    const v = input.value.trim().toLowerCase();
    return validTenant(v) ? v : "";
  };
}
