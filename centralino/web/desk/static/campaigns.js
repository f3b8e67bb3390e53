// Campaign pages: the new-campaign form (segment or CSV upload) and the campaign page's live progress
// (the progress API polled every second) with its actions. Text is only ever set with textContent.
import { api, csrf } from "./common.js";

const $ = (id) => document.getElementById(id);

function show(text, isError) {
  const message = $("camp-message");
  if (!message) return;
  message.textContent = text;
  message.classList.toggle("error", Boolean(isError));
  message.hidden = !text;
}

async function errorText(response) {
  try {
    const error = (await response.json()).error || {};
    return (error.field ? error.field + ": " : "") + (error.message || response.statusText);
  } catch (_) {
    return response.statusText;
  }
}

// --- the new-campaign form ------------------------------------------------------------------------------

// One input per template variable: "field:display_name", "attribute:city" or a literal text.
function parameterInputs(select, box) {
  const option = select.selectedOptions[0];
  const names = option && option.dataset.variables ? option.dataset.variables.split(",") : [];
  box.replaceChildren(...names.map((name) => {
    const label = document.createElement("label");
    label.textContent = "{{" + name + "}} ";
    const input = document.createElement("input");
    input.name = "param:" + name;
    input.placeholder = "field:display_name · attribute:city · text";
    label.append(input);
    return label;
  }));
}

function parameterSpec(form) {
  const spec = {};
  for (const [key, raw] of new FormData(form).entries()) {
    if (!key.startsWith("param:") || typeof raw !== "string" || !raw.trim()) continue;
    const value = raw.trim();
    const name = key.slice(6);
    if (value.startsWith("field:")) spec[name] = { field: value.slice(6).trim() };
    else if (value.startsWith("attribute:")) spec[name] = { attribute: value.slice(10).trim() };
    else spec[name] = { text: value };
  }
  return spec;
}

function pairs(text) {
  const out = {};
  for (const part of (text || "").split(",")) {
    const at = part.indexOf("=");
    if (at > 0) out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return out;
}

function newForm(form) {
  const select = $("camp-template");
  const box = $("camp-parameters");
  parameterInputs(select, box);
  select.addEventListener("change", () => parameterInputs(select, box));
  for (const radio of form.querySelectorAll("input[name=audience_kind]")) {
    radio.addEventListener("change", () => {
      const csv = form.audience_kind.value === "csv";
      $("camp-csv").hidden = !csv;
      $("camp-segment").hidden = csv;
    });
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const definition = {
      name: data.get("name"), channel_id: Number(data.get("channel_id")), template_id: Number(data.get("template_id")),
      parameters: parameterSpec(form), rate_per_s: Number(data.get("rate_per_s")),
      daily_tier: data.get("daily_tier"), on_tier_limit: data.get("on_tier_limit"),
      start_at: data.get("start_at") ? new Date(data.get("start_at")).toISOString() : null,
    };
    let response;
    if (data.get("audience_kind") === "csv") {
      const upload = new FormData();
      upload.append("definition", JSON.stringify(definition));
      upload.append("file", data.get("file"));
      response = await fetch("/api/v1/campaigns/csv", {
        method: "POST", headers: { "X-CSRF-Token": csrf }, body: upload, credentials: "same-origin",
      });
    } else {
      definition.audience = {
        tags: (data.get("tags") || "").split(",").map((x) => x.trim()).filter(Boolean),
        attributes: pairs(data.get("attributes")), consent: data.get("consent"),
      };
      response = await api("POST", "/api/v1/campaigns", definition);
      if (response.ok) {
        const made = await response.json();
        const planned = await api("POST", `/api/v1/campaigns/${made.id}/plan`);
        if (!planned.ok) {
          show(await errorText(planned), true);
          return;
        }
        location.assign(`/desk/campaigns/${made.id}`);
        return;
      }
    }
    if (!response.ok) {
      show(await errorText(response), true);
      return;
    }
    location.assign(`/desk/campaigns/${(await response.json()).id}`);
  });
}

// --- the campaign page: live progress and actions ---------------------------------------------------------

function applyStatus(status) {
  const badge = $("camp-status");
  badge.dataset.status = status;
  badge.textContent = badge.dataset["label" + status.charAt(0).toUpperCase() + status.slice(1)] || status;
  for (const button of document.querySelectorAll(".camp-actions button[data-when]")) {
    button.hidden = !button.dataset.when.split(" ").includes(status);
  }
}

function detailPage(root) {
  const id = root.dataset.id;
  const badge = $("camp-status");
  applyStatus(badge.dataset.status);
  const refresh = async () => {
    const response = await fetch(`/api/v1/campaigns/${id}/progress`, { credentials: "same-origin" });
    if (!response.ok) return;
    const progress = await response.json();
    for (const [state, n] of Object.entries(progress.counts)) {
      const cell = $("camp-count-" + state);
      if (cell) cell.textContent = String(n);
    }
    $("camp-bar").value = progress.percent;
    $("camp-bar").textContent = progress.percent + "%";
    $("camp-percent").textContent = String(progress.percent);
    $("camp-rate").textContent = String(progress.rate_per_s);
    $("camp-eta").textContent = progress.eta_s === null ? "–" : String(progress.eta_s);
    const waiting = $("camp-waiting");
    waiting.textContent = progress.waiting_reason || "";
    waiting.hidden = !progress.waiting_reason;
    if (progress.status !== badge.dataset.status) applyStatus(progress.status);
  };
  for (const button of document.querySelectorAll(".camp-actions button[data-action]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      const response = await api("POST", `/api/v1/campaigns/${id}/${button.dataset.action}`);
      button.disabled = false;
      if (!response.ok) {
        show(await errorText(response), true);
        return;
      }
      show("", false);
      if (button.dataset.action === "plan") location.reload();
      await refresh();
    });
  }
  setInterval(refresh, 1000);
}

const form = $("camp-form");
if (form) newForm(form);
const detail = $("camp-detail");
if (detail) detailPage(detail);
