// The composer's template picker (window closed): pick an approved template, fill its parameters, see
// the server's preview (what the customer will read), send. Text is shown with textContent only.
import { csrf, fragment } from "./common.js";

const root = document.getElementById("template-picker");
const $ = (id) => document.getElementById(id);

async function post(path, body, extraHeaders = {}) {
  return fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, ...extraHeaders },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
}

async function errorText(response) {
  try {
    const error = (await response.json()).error || {};
    return (error.field ? error.field + ": " : "") + (error.message || response.statusText);
  } catch (_) {
    return response.statusText;
  }
}

function fail(text) {
  const el = $("tp-error");
  el.textContent = text || "";
  el.hidden = !text;
}

if (root) {
  const conversationId = root.dataset.conversationId;
  let chosen = null;
  let idempotencyKey = null; // one per filled-in message: a double click or a retry sends once

  function field(label, data) {
    const wrap = document.createElement("label");
    wrap.textContent = label + " ";
    const input = document.createElement("input");
    input.type = "text";
    Object.assign(input.dataset, data);
    input.addEventListener("input", changed);
    wrap.append(input);
    $("tp-form").append(wrap);
  }

  function choose(item) {
    chosen = item;
    for (const other of root.querySelectorAll(".tp-item")) other.classList.toggle("chosen", other === item);
    const labels = $("tp-labels").dataset;
    $("tp-form").replaceChildren();
    const headerFormat = item.dataset.headerFormat;
    for (const name of JSON.parse(item.dataset.headerVars)) field(`${labels.header} {{${name}}}`, { part: "header" });
    if (["IMAGE", "VIDEO", "DOCUMENT"].includes(headerFormat)) field(labels.media, { part: "header-link" });
    for (const name of JSON.parse(item.dataset.bodyVars)) field(`{{${name}}}`, { part: "body", name });
    for (const b of JSON.parse(item.dataset.urlButtons)) field(`${labels.button} ${b.text}`, { part: "button", index: b.index });
    $("tp-form").hidden = false;
    $("tp-send").hidden = false;
    $("tp-sent").hidden = true;
    changed();
  }

  function parameters() {
    const named = chosen.dataset.format === "named";
    const params = {};
    const body = named ? {} : [];
    const buttons = [];
    for (const input of $("tp-form").querySelectorAll("input")) {
      const part = input.dataset.part;
      if (part === "header") params.header = input.value;
      else if (part === "header-link") params.header = { link: input.value };
      else if (part === "body") { if (named) body[input.dataset.name] = input.value; else body.push(input.value); }
      else if (part === "button") buttons.push({ index: Number(input.dataset.index), value: input.value });
    }
    if (named ? Object.keys(body).length : body.length) params.body = body;
    if (buttons.length) params.buttons = buttons;
    return params;
  }

  let timer = null;
  let asked = 0;
  function changed() {
    idempotencyKey = null;
    clearTimeout(timer);
    timer = setTimeout(preview, 250);
  }

  async function preview() {
    if (!chosen) return;
    const ticket = ++asked;
    const response = await post("/api/v1/templates/preview",
      { template_id: Number(chosen.dataset.id), parameters: parameters() });
    if (ticket !== asked) return;
    const box = $("tp-preview");
    if (!response.ok) { fail(await errorText(response)); box.hidden = true; return; }
    const answer = await response.json();
    // the parameters' problems (a value still missing…) are shown, the preview too
    fail((answer.problems || []).map((p) => `${p.field}: ${p.message}`).join(" · "));
    box.textContent = answer.preview || "";
    box.hidden = false;
  }

  $("tp-send").addEventListener("click", async () => {
    if (!chosen) return;
    const send = $("tp-send");
    send.disabled = true;
    idempotencyKey = idempotencyKey || crypto.randomUUID();
    const response = await post(`/api/v1/conversations/${conversationId}/templates`,
      { name: chosen.dataset.name, language: chosen.dataset.language, parameters: parameters() },
      { "Idempotency-Key": idempotencyKey });
    send.disabled = false;
    if (!response.ok) { fail(await errorText(response)); return; }
    fail("");
    idempotencyKey = null;
    $("tp-sent").hidden = false;
    for (const input of $("tp-form").querySelectorAll("input")) input.value = "";
  });

  (async () => {
    const body = await fragment(`/desk/conversations/${conversationId}/template-picker`);
    if (!body) return;
    $("tp-items").replaceChildren(...body.childNodes);
    for (const item of root.querySelectorAll(".tp-item")) {
      item.querySelector("button").addEventListener("click", () => choose(item));
    }
  })();
}
