// The customer panel: name, language, tags and custom attributes, saved with PATCH /api/v1/contacts/{id}.
// The panel is redrawn live (after our own change and anyone else's), so listeners are delegated.
import { api } from "./common.js";

function contactId() { return document.getElementById("panel")?.dataset.contactId; }

function showError(problem, status) {
  const box = document.getElementById("panel-error");
  if (!box) return;
  const error = problem.error || {};
  box.textContent = error.field ? `${error.field}: ${error.message}` : (error.message || String(status));
  box.hidden = false;
}

async function save(changes, redraw) {
  const response = await api("PATCH", `/api/v1/contacts/${contactId()}`, changes);
  if (!response.ok) { showError(await response.json().catch(() => ({})), response.status); return false; }
  await redraw();
  return true;
}

function currentTags() {
  return Array.from(document.querySelectorAll("#tags li.tag")).map((li) => li.dataset.tag);
}

export function setupPanel(redraw) {
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (form.id === "rename") {
      event.preventDefault();
      await save({ display_name: document.getElementById("rename-input").value }, redraw);
    } else if (form.id === "tag-form") {
      event.preventDefault();
      const tag = document.getElementById("tag-input").value;
      if (tag.trim()) await save({ tags: [...currentTags(), tag] }, redraw);
    } else if (form.id === "attribute-form") {
      event.preventDefault();
      const key = document.getElementById("attribute-key").value.trim();
      const value = document.getElementById("attribute-value").value;
      await save({ attributes: { [key]: value } }, redraw);
    }
  });
  document.addEventListener("change", async (event) => {
    const el = event.target;
    if (el.id === "contact-language") await save({ language: el.value || null }, redraw);
    else if (el.dataset.panel === "attribute-value") {
      await save({ attributes: { [el.closest("li").dataset.key]: el.value } }, redraw);
    }
  });
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-panel]");
    if (!button) return;
    const li = button.closest("li");
    if (button.dataset.panel === "remove-tag") {
      await save({ tags: currentTags().filter((t) => t !== li.dataset.tag) }, redraw);
    } else if (button.dataset.panel === "remove-attribute") {
      await save({ attributes: { [li.dataset.key]: null } }, redraw);
    }
  });
}
