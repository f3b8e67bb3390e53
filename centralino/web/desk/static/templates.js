// The template manager: the list (live status badges) and the builder (live preview and lint messages as
// you type, save, submit, delete; status and history redrawn live when Meta's webhook arrives).
// Everything typed is shown with textContent: nothing here builds markup from text.
import { api, fragment, live } from "./common.js";

const $ = (id) => document.getElementById(id);

function show(message, text, isError) {
  message.textContent = text;
  message.classList.toggle("error", Boolean(isError));
  message.hidden = !text;
}

async function errorText(response) {
  try {
    const body = await response.json();
    const error = body.error || {};
    return (error.field ? error.field + ": " : "") + (error.message || response.statusText);
  } catch (_) {
    return response.statusText;
  }
}

// --- the list ------------------------------------------------------------------------------------------

function listPage(root) {
  const message = $("tpl-message");
  const redraw = async () => {
    const params = new URLSearchParams({ status: root.dataset.status || "", q: root.dataset.q || "" });
    const body = await fragment("/desk/templates/rows?" + params);
    if (body) $("tpl-rows").replaceChildren(...body.childNodes);
  };
  const sync = $("tpl-sync");
  if (sync) {
    sync.addEventListener("click", async () => {
      sync.disabled = true;
      const response = await api("POST", "/api/v1/templates/sync", {});
      sync.disabled = false;
      if (response.ok) {
        const report = await response.json();
        show(message, `+${report.created} · ${report.updated} · ${report.unchanged}`, false);
        redraw();
      } else {
        show(message, await errorText(response), true);
      }
    });
  }
  // a sync changes many templates at once: one redraw for a burst of events
  let pending = null;
  const soon = () => { clearTimeout(pending); pending = setTimeout(redraw, 300); };
  live((item) => { if (item.type === "template.updated") soon(); }, soon);
}

// --- the builder ---------------------------------------------------------------------------------------

const VARIABLE = /\{\{([^{}]*)\}\}/g;

function names(text) {
  const seen = [];
  for (const match of text.matchAll(VARIABLE)) {
    const name = match[1].trim();
    if (!seen.includes(name)) seen.push(name);
  }
  return seen;
}

function fill(text, values) {
  return text.replace(VARIABLE, (whole, name) => values[name.trim()] || whole);
}

function builderPage(root) {
  const form = $("tpl-form");
  const editable = root.dataset.editable === "1";
  const templateId = root.dataset.templateId;
  const definition = JSON.parse(root.dataset.definition || "null");
  const message = $("tpl-message");
  const buttonList = $("tpl-buttons");
  const examples = {}; // variable name -> example, kept while the body is edited

  function addButton(kind, button = {}) {
    const li = document.createElement("li");
    li.className = "tpl-button";
    li.dataset.kind = kind;
    const label = document.createElement("span");
    label.className = "badge";
    label.textContent = $("tpl-button-kind").querySelector(`option[value="${kind}"]`).textContent;
    li.append(label);
    const input = (cls, placeholder, value) => {
      const el = document.createElement("input");
      el.type = "text";
      el.className = cls;
      el.placeholder = placeholder;
      el.setAttribute("aria-label", placeholder);
      el.value = value || "";
      el.disabled = !editable;
      li.append(el);
      return el;
    };
    const data = buttonList.dataset;
    if (kind !== "COPY_CODE") input("b-text", data.text, button.text);
    if (kind === "URL") {
      input("b-value", data.url, button.url);
      input("b-example", data.example, (button.example || [])[0]);
    }
    if (kind === "PHONE_NUMBER") input("b-value", data.phone, button.phone_number);
    if (kind === "COPY_CODE") input("b-value", data.code, Array.isArray(button.example) ? button.example[0] : button.example);
    if (editable) {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = data.remove;
      remove.addEventListener("click", () => { li.remove(); changed(); });
      li.append(remove);
    }
    buttonList.append(li);
  }

  function load(def) {
    if (!def) return;
    $("tpl-name").value = def.name || "";
    $("tpl-language").value = def.language || "";
    $("tpl-category").value = (def.category || "utility").toLowerCase();
    $("tpl-format").value = def.parameter_format || "positional";
    for (const component of def.components || []) {
      const type = (component.type || "").toUpperCase();
      const example = component.example || {};
      if (type === "HEADER") {
        $("tpl-header-format").value = (component.format || "TEXT").toUpperCase();
        $("tpl-header-text").value = component.text || "";
        const named = example.header_text_named_params;
        $("tpl-header-example").value = (example.header_text || [])[0] || (named && named[0] && named[0].example)
          || (example.header_handle || [])[0] || "";
      } else if (type === "BODY") {
        $("tpl-body").value = component.text || "";
        const given = (example.body_text || [[]])[0] || [];
        names(component.text || "").forEach((name, i) => { if (given[i]) examples[name] = given[i]; });
        for (const p of example.body_text_named_params || []) examples[p.param_name] = p.example;
      } else if (type === "FOOTER") {
        $("tpl-footer").value = component.text || "";
      } else if (type === "BUTTONS") {
        for (const button of component.buttons || []) addButton((button.type || "").toUpperCase(), button);
      }
    }
  }

  function drawExamples() {
    const box = $("tpl-body-examples");
    const wanted = names($("tpl-body").value);
    const present = [...box.querySelectorAll("input")].map((el) => el.dataset.name);
    if (wanted.join("\u0000") === present.join("\u0000")) return;
    box.replaceChildren();
    for (const name of wanted) {
      const label = document.createElement("label");
      label.textContent = `${box.dataset.label} {{${name}}} `;
      const el = document.createElement("input");
      el.type = "text";
      el.dataset.name = name;
      el.value = examples[name] || "";
      el.disabled = !editable;
      el.addEventListener("input", () => { examples[name] = el.value; changed(); });
      label.append(el);
      box.append(label);
    }
  }

  function current() {
    const named = $("tpl-format").value === "named";
    const components = [];
    const headerFormat = $("tpl-header-format").value;
    const headerExample = $("tpl-header-example").value.trim();
    if (headerFormat === "TEXT") {
      const text = $("tpl-header-text").value;
      const header = { type: "HEADER", format: "TEXT", text };
      const vars = names(text);
      if (vars.length) {
        header.example = named ? { header_text_named_params: [{ param_name: vars[0], example: headerExample }] }
          : { header_text: [headerExample] };
      }
      components.push(header);
    } else if (headerFormat) {
      const header = { type: "HEADER", format: headerFormat };
      if (headerFormat !== "LOCATION") header.example = { header_handle: [headerExample] };
      components.push(header);
    }
    const text = $("tpl-body").value;
    const body = { type: "BODY", text };
    const vars = names(text);
    if (vars.length) {
      body.example = named ? { body_text_named_params: vars.map((n) => ({ param_name: n, example: examples[n] || "" })) }
        : { body_text: [vars.map((n) => examples[n] || "")] };
    }
    components.push(body);
    const footer = $("tpl-footer").value;
    if (footer) components.push({ type: "FOOTER", text: footer });
    const buttons = [...buttonList.children].map((li) => {
      const kind = li.dataset.kind;
      const value = (cls) => (li.querySelector("." + cls) || {}).value || "";
      if (kind === "URL") {
        const button = { type: "URL", text: value("b-text"), url: value("b-value") };
        if (button.url.includes("{{")) button.example = [value("b-example")];
        return button;
      }
      if (kind === "PHONE_NUMBER") return { type: "PHONE_NUMBER", text: value("b-text"), phone_number: value("b-value") };
      if (kind === "COPY_CODE") return { type: "COPY_CODE", example: value("b-value") };
      return { type: "QUICK_REPLY", text: value("b-text") };
    });
    if (buttons.length) components.push({ type: "BUTTONS", buttons });
    return {
      name: $("tpl-name").value.trim(), language: $("tpl-language").value.trim(),
      category: $("tpl-category").value, parameter_format: $("tpl-format").value, components,
    };
  }

  // What the customer will see with the examples as values: drawn at once here, then replaced by the
  // server's rendering (POST /api/v1/templates/preview with the definition), which also lints it.
  function exampleParameters(def) {
    const params = {};
    const header = def.components.find((c) => c.type === "HEADER");
    const headerExample = $("tpl-header-example").value.trim();
    if (header && header.format === "TEXT" && names(header.text || "").length) params.header = headerExample;
    else if (header && header.format !== "TEXT" && /^https?:\/\//.test(headerExample)) params.header = { link: headerExample };
    const vars = names($("tpl-body").value);
    if (vars.length) {
      params.body = def.parameter_format === "named" ? Object.fromEntries(vars.map((n) => [n, examples[n] || ""]))
        : [...vars].sort((a, b) => Number(a) - Number(b)).map((n) => examples[n] || "");
    }
    const buttons = [];
    ((def.components.find((c) => c.type === "BUTTONS") || {}).buttons || []).forEach((button, index) => {
      if (button.type === "URL" && button.url.includes("{{")) {
        const prefix = button.url.split("{{")[0];
        const full = (button.example || [""])[0] || "";
        buttons.push({ index, value: full.startsWith(prefix) ? full.slice(prefix.length) : full });
      } else if (button.type === "COPY_CODE" && button.example) {
        buttons.push({ index, value: button.example });
      }
    });
    if (buttons.length) params.buttons = buttons;
    return params;
  }

  function preview(def) {
    const lines = [];
    const header = def.components.find((c) => c.type === "HEADER");
    if (header && header.format === "TEXT") {
      const vars = names(header.text || "");
      lines.push(fill(header.text || "", vars.length ? { [vars[0]]: $("tpl-header-example").value } : {}));
    } else if (header) {
      lines.push(`[${$("tpl-header-format").selectedOptions[0].textContent}]`);
    }
    lines.push(fill($("tpl-body").value, examples));
    if ($("tpl-footer").value) lines.push($("tpl-footer").value);
    for (const button of (def.components.find((c) => c.type === "BUTTONS") || { buttons: [] }).buttons) {
      lines.push(`[${button.type === "COPY_CODE" ? button.example || "" : button.text || "…"}]`);
    }
    $("tpl-preview").textContent = lines.join("\n");
  }

  let timer = null;
  let asked = 0;
  async function lint(def) {
    const ticket = ++asked;
    const response = await api("POST", "/api/v1/templates/preview", { definition: def, parameters: exampleParameters(def) });
    if (ticket !== asked || !response.ok) return;
    const answer = await response.json();
    if (answer.preview) $("tpl-preview").textContent = answer.preview;
    // the definition's problems; the example values' own are the examples' inputs, shown by the linter too
    const problems = (answer.problems || []).filter((p) => !p.field.startsWith("parameters"));
    const list = $("tpl-problems");
    list.replaceChildren();
    for (const p of problems) {
      const li = document.createElement("li");
      li.dataset.field = p.field;
      li.dataset.code = p.code;
      const where = document.createElement("code");
      where.textContent = p.field;
      li.append(where, " " + p.message);
      list.append(li);
    }
    $("tpl-no-problems").hidden = problems.length > 0;
  }

  function syncHeaderInputs() {
    const format = $("tpl-header-format").value;
    const example = $("tpl-header-example");
    $("tpl-header-text").hidden = format !== "TEXT";
    example.hidden = !format || format === "LOCATION" || (format === "TEXT" && !names($("tpl-header-text").value).length);
    example.placeholder = format === "TEXT" ? example.dataset.textPlaceholder : example.dataset.mediaPlaceholder;
  }

  function changed() {
    syncHeaderInputs();
    drawExamples();
    const def = current();
    preview(def);
    clearTimeout(timer);
    timer = setTimeout(() => lint(def), 250);
  }

  load(definition);
  for (const el of form.querySelectorAll("input, textarea, select")) {
    if (!editable && el.id !== "tpl-button-kind") el.disabled = true;
    el.addEventListener("input", changed);
  }
  const add = $("tpl-add-button");
  if (add) {
    add.disabled = !editable;
    $("tpl-button-kind").disabled = !editable;
    add.addEventListener("click", () => { addButton($("tpl-button-kind").value); changed(); });
  }
  changed();

  const save = $("tpl-save");
  if (save) {
    save.addEventListener("click", async () => {
      const def = current();
      const account = $("tpl-account");
      let response;
      if (templateId) {
        response = await api("PATCH", `/api/v1/templates/${templateId}`,
          { category: def.category, parameter_format: def.parameter_format, components: def.components });
      } else {
        response = await api("POST", "/api/v1/templates", account ? { ...def, account_id: account.value } : def);
      }
      if (!response.ok) { show(message, await errorText(response), true); return; }
      const saved = await response.json();
      if (!templateId) { location.assign(`/desk/templates/${saved.template.id}`); return; }
      show(message, message.dataset.saved, false);
    });
  }
  const submit = $("tpl-submit");
  if (submit) {
    submit.addEventListener("click", async () => {
      submit.disabled = true;
      const def = current();
      const saved = await api("PATCH", `/api/v1/templates/${templateId}`,
        { category: def.category, parameter_format: def.parameter_format, components: def.components });
      const response = saved.ok ? await api("POST", `/api/v1/templates/${templateId}/submit`) : saved;
      submit.disabled = false;
      if (!response.ok) { show(message, await errorText(response), true); return; }
      show(message, message.dataset.submitted, false);
      location.reload();
    });
  }
  const remove = $("tpl-delete");
  if (remove) {
    remove.addEventListener("click", async () => {
      if (!window.confirm(remove.dataset.confirm)) return;
      const response = await api("DELETE", `/api/v1/templates/${templateId}`);
      if (!response.ok) { show(message, await errorText(response), true); return; }
      location.assign("/desk/templates");
    });
  }

  async function redrawStatus() {
    const box = $("tpl-status-box");
    if (!box) return;
    const body = await fragment(`/desk/templates/${templateId}/status`);
    if (!body) return;
    const before = $("tpl-status")?.dataset.status;
    box.replaceChildren(...body.childNodes);
    // a new status changes what the form allows (editable drafts and rejections, read-only otherwise)
    if (before && $("tpl-status")?.dataset.status !== before) location.reload();
  }
  if (templateId) {
    live((item) => { if (item.type === "template.updated" && String(item.template_id) === templateId) redrawStatus(); },
      redrawStatus);
  }
}

const list = $("tpl-list");
if (list) listPage(list);
const builder = $("tpl-builder");
if (builder) builderPage(builder);
