// Contact administration pages: merge a duplicate group into the chosen contact, preview and run a CSV
// import (polling its job), retention policies and their dry run. Every check happens in the API; its
// errors are shown next to the field they name. Data from the server is set as textContent, never markup.
import { api, csrf } from "./common.js";

function show(el, text) {
  if (!el) return;
  el.textContent = text || "";
  el.hidden = !text;
}

async function errorOf(response, fallback) {
  try {
    const body = await response.json();
    return body.error || { message: fallback };
  } catch {
    return { message: fallback };
  }
}

// --- duplicates: the other members of the group are merged into the chosen one, one after the other ----
const duplicates = document.getElementById("cadm-duplicates");
if (duplicates) {
  for (const form of duplicates.querySelectorAll("form[data-group]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const survivor = Number(form.elements.survivor.value);
      const others = form.elements.members.value.split(",").map(Number).filter((id) => id !== survivor);
      show(form.querySelector("[data-error]"), "");
      for (const other of others) {
        const response = await api("POST", `/api/v1/contacts/${survivor}/merge`, { other_contact_id: other });
        if (!response.ok) {
          const error = await errorOf(response, duplicates.dataset.failed);
          show(form.querySelector("[data-error]"), error.message);
          return;
        }
      }
      form.querySelector("[data-status]").textContent = duplicates.dataset.merged;
      setTimeout(() => location.reload(), 600);
    });
  }
}

// --- import: upload → preview (errors by row and column) → run → progress ------------------------------
const importPage = document.getElementById("cadm-import");
if (importPage) {
  const words = JSON.parse(importPage.dataset.words);
  const upload = document.getElementById("cadm-upload");
  const preview = document.getElementById("cadm-preview");
  let job = null;

  const summary = (j) => `${words.invalid}: ${j.invalid_rows}/${j.total_rows} · ${words.would_create}: ` +
    `${j.preview.would_create} · ${words.would_update}: ${j.preview.would_update}`;
  const progress = (j) => `${words.state}: ${j.state} · ${words.processed}: ${j.processed_rows}/${j.total_rows} · ` +
    `${words.created}: ${j.created_count} · ${words.updated}: ${j.updated_count} · ` +
    `${words.unchanged}: ${j.unchanged_count} · ${words.skipped}: ${j.skipped_count}`;

  function showPreview(j) {
    job = j;
    preview.hidden = false;
    document.getElementById("cadm-summary").textContent = summary(j);
    const body = document.querySelector("#cadm-errors tbody");
    body.replaceChildren();
    for (const e of j.errors) {
      const row = document.createElement("tr");
      for (const value of [e.row, e.column, e.message]) {
        const cell = document.createElement("td");
        cell.textContent = String(value);
        row.append(cell);
      }
      body.append(row);
    }
    document.getElementById("cadm-errors").hidden = j.errors.length === 0;
    document.getElementById("cadm-run").disabled = j.invalid_rows > 0;
    document.getElementById("cadm-run-valid").hidden = j.invalid_rows === 0;
    document.getElementById("cadm-progress").textContent = j.errors.length ? "" : words.no_errors;
  }

  upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    show(upload.querySelector("[data-error]"), "");
    const data = new FormData();
    data.append("file", upload.elements.file.files[0]);
    const response = await fetch("/api/v1/contacts/imports", {
      method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRF-Token": csrf },
    });
    if (!response.ok) {
      show(upload.querySelector("[data-error]"), (await errorOf(response, importPage.dataset.failed)).message);
      return;
    }
    showPreview(await response.json());
  });

  async function poll() {
    const response = await fetch(`/api/v1/contacts/imports/${job.id}`, { credentials: "same-origin" });
    if (!response.ok) return;
    const j = await response.json();
    document.getElementById("cadm-progress").textContent = progress(j);
    if (j.state === "running") setTimeout(poll, 1000);
  }

  async function run(validRowsOnly) {
    show(document.getElementById("cadm-run-error"), "");
    const response = await api("POST", `/api/v1/contacts/imports/${job.id}/run`, { valid_rows_only: validRowsOnly });
    if (!response.ok) {
      show(document.getElementById("cadm-run-error"), (await errorOf(response, importPage.dataset.failed)).message);
      return;
    }
    document.getElementById("cadm-run").disabled = true;
    document.getElementById("cadm-run-valid").disabled = true;
    poll();
  }

  document.getElementById("cadm-run").addEventListener("click", () => run(false));
  document.getElementById("cadm-run-valid").addEventListener("click", () => run(true));
}

// --- retention: days per kind (empty: forever), the dry run's counts next to each kind -------------------
const retention = document.getElementById("cadm-retention");
if (retention) {
  const form = document.getElementById("cadm-policies");
  const fields = [...form.querySelectorAll("input[name]")];

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const el of form.querySelectorAll(".error")) show(el, "");
    const policies = {};
    for (const input of fields) {
      const text = input.value.trim();
      policies[input.name] = text === "" ? null : (Number.isInteger(Number(text)) ? Number(text) : text);
    }
    const response = await api("PUT", "/api/v1/retention/policies", { policies });
    if (!response.ok) {
      const error = await errorOf(response, retention.dataset.failed);
      show(form.querySelector(`[data-error-for="${CSS.escape(error.field || "")}"]`) || form.querySelector("[data-error]"),
           error.message);
      return;
    }
    form.querySelector("[data-status]").textContent = retention.dataset.saved;
  });

  document.getElementById("cadm-preview-retention").addEventListener("click", async () => {
    for (const el of form.querySelectorAll("[data-due-for]")) el.textContent = "";
    const response = await fetch("/api/v1/retention/preview", { credentials: "same-origin" });
    if (!response.ok) return;
    for (const plan of await response.json()) {
      const due = Object.values(plan.due).reduce((a, b) => a + b, 0);
      const el = form.querySelector(`[data-due-for="${CSS.escape(plan.kind)}"]`);
      if (el) el.textContent = `${retention.dataset.due}: ${due}`;
    }
  });
}

// --- GDPR: the export downloads through the API; the erasure posts the typed confirmation -----------------
const gdpr = document.getElementById("cadm-gdpr");
if (gdpr) {
  const exportForm = document.getElementById("cadm-gdpr-export");
  exportForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = encodeURIComponent(exportForm.elements.contact_id.value.trim());
    const reason = encodeURIComponent(exportForm.elements.reason.value.trim());
    location.assign(`/api/v1/contacts/${id}/export?reason=${reason}`);
  });
  const erase = document.getElementById("cadm-gdpr-erase");
  erase.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const el of erase.querySelectorAll(".error")) show(el, "");
    const id = erase.elements.contact_id.value.trim();
    const typed = erase.elements.confirm.value.trim();
    const body = { confirm: /^\d+$/.test(typed) ? Number(typed) : null, reason: erase.elements.reason.value };
    const response = await api("POST", `/api/v1/contacts/${encodeURIComponent(id)}/erase`, body);
    if (!response.ok) {
      const error = await errorOf(response, gdpr.dataset.failed);
      show(erase.querySelector(`[data-error-for="${CSS.escape(error.field || "")}"]`) || erase.querySelector("[data-error]"),
           error.message);
      return;
    }
    const done = await response.json();
    erase.querySelector("[data-status]").textContent = `${gdpr.dataset.erased} #${done.request_id}`;
    setTimeout(() => location.reload(), 800);
  });
}
