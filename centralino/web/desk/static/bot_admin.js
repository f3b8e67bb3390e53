// The virtual agent's pages (/desk/bot/…). Forms and buttons say which API call they make:
//   <form data-api="POST" data-path="/api/v1/bot/…" data-then="reload | go:/desk/…/{id} | show | trained | remove-row">
//   <button data-call="DELETE" data-path="…" data-body='{"…": …}' data-then="…" data-confirm="…">
// Fields become the JSON body by name ("answers.it" -> {answers: {it: …}}), typed by data-type (number, bool, json,
// nullable: "" -> null); data-skip-empty leaves an empty field out (a write-only secret is kept). data-raw="name"
// sends that field's text as the body itself (the intents file). The API checks everything and its error
// ("intents[3].examples[0]: …") is shown in the form; results are shown as text, never as markup.
import { api, csrf } from "./common.js";

const page = document.getElementById("bot-admin");

function setPath(body, name, value) {
  const parts = name.split(".");
  let node = body;
  parts.slice(0, -1).forEach((p) => { node[p] = node[p] || {}; node = node[p]; });
  node[parts[parts.length - 1]] = value;
}

function bodyOf(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.type === "file" || el.disabled) continue;
    let value = el.value;
    const type = el.dataset.type;
    if (el.hasAttribute("data-skip-empty") && value === "") continue;
    if (type === "number") value = value === "" ? null : Number(value);
    else if (type === "bool") value = value === "true";
    else if (type === "nullable") value = value === "" ? null : value;
    else if (type === "json") value = JSON.parse(value || "null");
    setPath(body, el.name, value);
  }
  return body;
}

function status(scope, text) {
  const target = scope.querySelector("[data-status]");
  if (target) target.textContent = text;
}

function fail(scope, message) {
  const target = scope.querySelector("[data-error]");
  if (target) { target.textContent = message; target.hidden = false; } else { window.alert(message); }
}

function clear(scope) {
  scope.querySelectorAll("[data-error]").forEach((e) => { e.hidden = true; e.textContent = ""; });
  status(scope, "");
}

async function showError(scope, response) {
  let error = { message: page.dataset.failed };
  try { error = (await response.json()).error || error; } catch { /* not JSON */ }
  fail(scope, error.field ? `${error.field}: ${error.message}` : error.message);
}

async function send(method, path, body, raw) {
  if (raw === undefined) return api(method, path, body);
  return fetch(path, { method, headers: { "Content-Type": "text/plain; charset=utf-8", "X-CSRF-Token": csrf },
                       body: raw, credentials: "same-origin" });
}

async function then(scope, element, response) {
  const how = element.dataset.then || "reload";
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (how === "reload") { location.reload(); return; }
  if (how.startsWith("go:")) { location.assign(how.slice(3).replace("{id}", encodeURIComponent(data.id ?? ""))); return; }
  if (how === "remove-row") { element.closest("tr")?.remove(); return; }
  const result = scope.querySelector("[data-result]");
  if (how === "trained") {  // a new version: its number and what the gate decided; the table follows with why
    // (the API's reason is English: the table shows it in the page's language)
    const state = element.dataset[`state${data.state.charAt(0).toUpperCase()}${data.state.slice(1)}`] || data.state;
    result.textContent = `v${data.version} · ${state}`;
    result.hidden = false;
    status(scope, "");
    setTimeout(() => location.reload(), 2500);
    return;
  }
  if (result) { result.textContent = JSON.stringify(data, null, 2); result.hidden = false; }
  status(scope, page.dataset.saved);
}

// A call that may take seconds (train now): the button is disabled and the status counts the seconds.
async function busy(scope, button, work) {
  const started = Date.now();
  if (button) button.disabled = true;
  status(scope, page.dataset.busy);
  const timer = setInterval(() => status(scope, `${page.dataset.busy} ${Math.round((Date.now() - started) / 1000)} s`), 1000);
  try { return await work(); } finally { clearInterval(timer); if (button) button.disabled = false; }
}

page.addEventListener("submit", async (event) => {
  const form = event.target.closest("form[data-api]");
  if (!form) return;
  event.preventDefault();
  clear(form);
  let body;
  let raw;
  try {
    if (form.dataset.raw) raw = form.elements[form.dataset.raw].value; else body = bodyOf(form);
  } catch (problem) { fail(form, problem.message); return; }
  const response = await busy(form, form.querySelector("button[type=submit]"),
    () => send(form.dataset.api, form.dataset.path, body, raw));
  if (!response.ok) { await showError(form, response); return; }
  await then(form, form, response);
});

page.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-call]");
  if (!button) return;
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
  const scope = button.closest("form, tr, section");
  clear(scope);
  const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
  const response = await busy(scope, button, () => api(button.dataset.call, button.dataset.path, body));
  if (!response.ok) { await showError(scope, response); return; }
  await then(scope, button, response);
});

page.addEventListener("change", async (event) => {
  const input = event.target.closest("input[type=file][data-file-into]");
  if (!input || !input.files.length) return;
  input.form.elements[input.dataset.fileInto].value = await input.files[0].text();
});
