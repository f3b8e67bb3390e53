// The customer's consent in the panel: the section arrives as a placeholder (the panel is redrawn live, and
// each redraw brings a new one), filled from /desk/contacts/{id}/consent; opt-ins and opt-outs are recorded
// with POST /api/v1/contacts/{id}/consents and a required note, then the section is read again.
import { api, fragment } from "./common.js";

async function load(section) {
  section.dataset.loading = "1";
  const body = await fragment(`/desk/contacts/${section.dataset.contactId}/consent`);
  const fresh = body?.querySelector("#consent-panel");
  if (fresh && section.isConnected) section.replaceWith(fresh);
}

function fill() {
  document.querySelectorAll("#consent-panel:not([data-loaded]):not([data-loading])").forEach(load);
}

function showError(problem, status) {
  const box = document.getElementById("consent-error");
  const error = problem.error || {};
  box.textContent = error.field ? `${error.field}: ${error.message}` : (error.message || String(status));
  box.hidden = false;
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.id !== "consent-form") return;
  event.preventDefault();
  const section = document.getElementById("consent-panel");
  const action = event.submitter?.dataset.action || "opt_out";
  const response = await api("POST", `/api/v1/contacts/${section.dataset.contactId}/consents`, {
    purpose: document.getElementById("consent-purpose").value,
    action,
    note: document.getElementById("consent-note").value,
  });
  if (!response.ok) { showError(await response.json().catch(() => ({})), response.status); return; }
  await load(section);
});

new MutationObserver(fill).observe(document.body, { childList: true, subtree: true });
fill();
