// Automation rules page: each editor's JSON goes to /api/v1/automation as is; the API checks it and its
// error (e.g. "actions[1].template: no template 'x'") is shown under the editor. Results are shown as text
// (textContent), never as markup.
import { api } from "./common.js";

const page = document.getElementById("automation");

function slot(form) {
  return form.querySelector("[data-error-for]");
}

function clear(form) {
  form.querySelectorAll("[data-error-for]").forEach((s) => { s.hidden = true; s.textContent = ""; });
  const status = form.querySelector("[data-status]");
  if (status) status.textContent = "";
}

function fail(form, message) {
  const target = slot(form);
  target.textContent = message;
  target.hidden = false;
}

async function showError(form, response) {
  let error = { message: page.dataset.failed };
  try { error = (await response.json()).error || error; } catch { /* not JSON */ }
  fail(form, error.field ? `${error.field}: ${error.message}` : error.message);
}

function parsed(form, name) {
  try {
    return JSON.parse(form.elements[name].value);
  } catch (problem) {
    fail(form, `${page.dataset.badJson}: ${problem.message}`);
    return undefined;
  }
}

async function saveRule(form) {
  const body = parsed(form, "rule");
  if (body === undefined) return;
  const id = form.dataset.ruleId;
  const response = await api(id ? "PUT" : "POST", id ? `/api/v1/automation/rules/${id}` : "/api/v1/automation/rules", body);
  if (!response.ok) { await showError(form, response); return; }
  form.querySelector("[data-status]").textContent = page.dataset.saved;
  if (!id) location.reload();
}

async function saveCaseUpdate(form) {
  const body = parsed(form, "setting");
  if (body === undefined) return;
  const type = form.dataset.caseType || form.elements.case_type.value.trim();
  const response = await api("PUT", `/api/v1/automation/case-updates/${encodeURIComponent(type)}`, body);
  if (!response.ok) { await showError(form, response); return; }
  form.querySelector("[data-status]").textContent = page.dataset.saved;
  if (!form.dataset.caseType) location.reload();
}

page.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  clear(form);
  if (form.dataset.form === "rule") saveRule(form);
  else saveCaseUpdate(form);
});

page.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-toggle], button[data-delete], button[data-test]");
  if (!button) return;
  const form = button.closest("form");
  clear(form);
  const id = form.dataset.ruleId;
  let response;
  if (button.hasAttribute("data-toggle")) {
    response = await api("PATCH", `/api/v1/automation/rules/${id}`, { enabled: form.dataset.enabled !== "true" });
    if (response.ok) { location.reload(); return; }
  } else if (button.hasAttribute("data-delete")) {
    response = await api("DELETE", `/api/v1/automation/rules/${id}`);
    if (response.ok) { location.reload(); return; }
  } else {
    const payload = parsed(form, "event");
    if (payload === undefined) return;
    const rule = parsed(form, "rule");
    if (rule === undefined) return;
    response = await api("POST", "/api/v1/automation/rules/test", { rule, event: { type: rule.trigger, payload } });
    if (response.ok) {
      const result = form.querySelector("[data-result]");
      result.textContent = JSON.stringify(await response.json(), null, 2);
      result.hidden = false;
      return;
    }
  }
  await showError(form, response);
});
