// The password policy checked live as the user types. The source of truth is
// the API: shared/password/policy.go (Check) with the tenant's
// passwordPolicy setting (defaults in shared/latchkey); this mirrors the
// default rules so the user sees them before submitting, and the page shows
// the API's own refusal (`password_policy` with `rules`) if the tenant's
// policy is stricter or the password is a common one (that list stays on the
// server).

export const DEFAULT_POLICY = { minLength: 8, maxLength: 128, requireLetter: true, requireDigit: true, refuseCommon: true, refuseIdentity: true };

export const RULE_TEXT = {
  min_length: (p) => `At least ${p.minLength} characters`,
  max_length: (p) => `At most ${p.maxLength} characters`,
  letter: () => "At least one letter",
  digit: () => "At least one digit",
  contains_username: () => "Does not contain your username",
  contains_email: () => "Does not contain your e-mail address",
  common: () => "Not a common password (checked when you submit)",
  match: () => "Both entries match",
};

// fold approximates latchkey.NormalizeUsername (NFKC, full case folding,
// NFKC): upper then lower case folds ß to ss and final sigma as Go does.
const fold = (s) => s.normalize("NFKC").toUpperCase().toLowerCase().normalize("NFKC");

/** check returns the rules pw fails under policy p, in the API's order. */
export function check(pw, { username = "", email = "" } = {}, p = DEFAULT_POLICY) {
  const failed = [];
  const n = [...pw].length;
  if (n < p.minLength) failed.push("min_length");
  if (p.maxLength > 0 && n > p.maxLength) failed.push("max_length");
  if (p.requireLetter && !/\p{L}/u.test(pw)) failed.push("letter");
  if (p.requireDigit && !/\p{Nd}/u.test(pw)) failed.push("digit");
  if (p.refuseIdentity) {
    const f = fold(pw), u = fold(username.trim());
    if (u.length >= 3 && f.includes(u)) failed.push("contains_username");
    const e = fold(email.trim());
    if (e) {
      const at = e.lastIndexOf("@"), local = at > 0 ? e.slice(0, at) : e;
      if (f.includes(e) || (local.length >= 3 && f.includes(local))) failed.push("contains_email");
    }
  }
  return failed;
}

/** live wires a password field, its confirmation and a <ul> checklist: the
 *  list updates on every keystroke and the submit button is enabled only
 *  when every rule holds. It returns a function that shows the API's
 *  refused rules. */
export function live({ input, confirm, list, submit, identity }) {
  const p = DEFAULT_POLICY;
  const shown = ["min_length", "max_length", "letter", "digit", "contains_username"];
  if (identity().email) shown.push("contains_email");
  if (confirm) shown.push("match");
  list.replaceChildren(...shown.map((r) => {
    const li = document.createElement("li");
    li.dataset.rule = r;
    li.textContent = RULE_TEXT[r](p);
    return li;
  }), Object.assign(document.createElement("li"), { className: "info", textContent: RULE_TEXT.common(p) }));
  list.setAttribute("aria-live", "polite");
  const update = () => {
    const failed = check(input.value, identity(), p);
    if (confirm && (input.value === "" || input.value !== confirm.value)) failed.push("match");
    for (const li of list.querySelectorAll("li[data-rule]")) li.classList.toggle("met", !failed.includes(li.dataset.rule));
    submit.disabled = failed.length > 0;
    return failed;
  };
  input.addEventListener("input", update);
  if (confirm) confirm.addEventListener("input", update);
  update();
  return {
    update,
    /** explain turns the API's refused rules into one sentence. */
    explain: (rules) => rules.map((r) => (RULE_TEXT[r] ? RULE_TEXT[r](p) : r)).join("; "),
  };
}
