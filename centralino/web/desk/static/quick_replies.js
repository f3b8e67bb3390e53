// The quick-replies page: create, edit and delete through /api/v1/quick-replies.
import { api } from "./common.js";

const form = document.getElementById("qr-form");
const error = document.getElementById("qr-error");
const field = (name) => document.getElementById(name);

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-qr]");
  if (!button) return;
  const row = button.closest("tr");
  if (button.dataset.qr === "delete") {
    const response = await api("DELETE", `/api/v1/quick-replies/${row.dataset.id}`);
    if (response.ok) location.reload();
  } else {
    field("qr-id").value = row.dataset.id;
    field("qr-title").value = row.dataset.title;
    field("qr-shortcut").value = row.dataset.shortcut;
    field("qr-body").value = row.dataset.body;
    field("qr-scope").disabled = true;
    field("qr-form-title").textContent = field("qr-form-title").dataset.edit;
    field("qr-title").focus();
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const body = { title: field("qr-title").value, shortcut: field("qr-shortcut").value, body: field("qr-body").value };
  const id = field("qr-id").value;
  let response;
  if (id) response = await api("PATCH", `/api/v1/quick-replies/${id}`, body);
  else {
    const scope = field("qr-scope").value;
    body.shared = scope !== "personal";
    if (scope.startsWith("department:")) body.department_id = Number(scope.split(":")[1]);
    response = await api("POST", "/api/v1/quick-replies", body);
  }
  if (response.ok) { location.reload(); return; }
  const problem = (await response.json().catch(() => ({}))).error || {};
  error.textContent = problem.field ? `${problem.field}: ${problem.message}` : (problem.message || response.status);
  error.hidden = false;
});
