// Routing configuration forms: each form becomes the routing API's JSON; the API validates (422 naming the
// field, e.g. "relaxation[1].after_s") and its message is shown next to that field. Nothing is checked here
// beyond splitting the text, so the rules live in one place.
import { api } from "./common.js";

const page = document.querySelector(".rcfg-page");

const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
const number = (text) => (text.trim() !== "" && !Number.isNaN(Number(text)) ? Number(text) : text.trim());
const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);

function pairs(text, name, value) {
  return lines(text).map((line) => {
    const [first, ...rest] = line.split(/\s+/);
    return { [name]: first, [value]: number(rest.join(" ")) };
  });
}

function relaxation(text) {
  return lines(text).map((line) => {
    const words = line.split(/\s+/);
    const step = { after_s: number(words.shift()) };
    while (words.length) {
      const word = words.shift();
      if (word === "min_level") step.min_level = number(words.shift() || "");
      else step[word] = true;
    }
    return step;
  });
}

function conditions(form) {
  const out = {};
  for (const key of ["channel_kind", "language", "tags_any", "intent", "keywords_any"]) {
    const values = list(form.elements[`conditions.${key}`].value);
    if (values.length) out[key] = values;
  }
  const ids = list(form.elements["conditions.channel_id"].value);
  if (ids.length) out.channel_id = ids.map(number);
  const attributes = lines(form.elements["conditions.attributes"].value);
  if (attributes.length) {
    out.attributes = Object.fromEntries(attributes.map((a) => {
      const at = a.indexOf("=");
      return at < 0 ? [a, ""] : [a.slice(0, at).trim(), a.slice(at + 1).trim()];
    }));
  }
  return out;
}

function capacity(text) {
  return Object.fromEntries(list(text).map((entry) => {
    const [kind, value] = entry.split("=");
    return [kind.trim(), number(value || "")];
  }));
}

// what each form sends: [method, path, body]
const requests = {
  agent(form) {
    const id = form.dataset.userId;
    return [
      ["PUT", `/api/v1/routing/agents/${id}/skills`, { skills: pairs(form.elements.skills.value, "skill", "level") }],
      ["PUT", `/api/v1/routing/agents/${id}/capacity`, { capacity: capacity(form.elements.capacity.value) }],
    ];
  },
  queue(form) {
    const e = form.elements;
    const id = form.dataset.queueId;
    const body = {
      name: e.name.value, department_id: number(e.department_id.value), priority: number(e.priority.value),
      required_skills: pairs(e.required_skills.value, "skill", "min_level"), relaxation: relaxation(e.relaxation.value),
      overflow_queue_id: e.overflow_queue_id.value ? number(e.overflow_queue_id.value) : null,
      offer_timeout_s: number(e.offer_timeout_s.value),
    };
    return [[id ? "PUT" : "POST", id ? `/api/v1/routing/queues/${id}` : "/api/v1/routing/queues", body]];
  },
  rule(form) {
    const e = form.elements;
    const id = form.dataset.ruleId;
    const body = {
      name: e.name.value, position: number(e.position.value), queue_id: number(e.queue_id.value),
      priority: e.priority.value.trim() ? number(e.priority.value) : null, conditions: conditions(form),
    };
    return [[id ? "PUT" : "POST", id ? `/api/v1/routing/rules/${id}` : "/api/v1/routing/rules", body]];
  },
};

// "relaxation[1].after_s" → the slot for "relaxation"; "conditions.tags_any" → its own slot
function slotFor(form, field) {
  let name = field || "form";
  while (name) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (slot) return slot;
    const cut = Math.max(name.lastIndexOf("."), name.lastIndexOf("["));
    name = cut > 0 ? name.slice(0, cut) : "";
  }
  return form.querySelector('[data-error-for="form"]') || form.querySelector("[data-error-for]");
}

async function submit(form) {
  form.querySelectorAll("[data-error-for]").forEach((slot) => { slot.hidden = true; slot.textContent = ""; });
  const status = form.querySelector("[data-status]");
  status.textContent = "";
  let created = false;
  for (const [method, path, body] of requests[form.dataset.form](form)) {
    const response = await api(method, path, body);
    if (!response.ok) {
      let error = { message: page.dataset.failed };
      try { error = (await response.json()).error || error; } catch { /* not JSON */ }
      const slot = slotFor(form, error.field);
      slot.textContent = error.field ? `${error.field}: ${error.message}` : error.message;
      slot.hidden = false;
      return;
    }
    created = created || method === "POST";
  }
  status.textContent = page.dataset.saved;
  if (created) location.reload();
}

page.addEventListener("submit", (event) => {
  event.preventDefault();
  submit(event.target);
});

page.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-delete]");
  if (!button) return;
  const form = button.closest("form");
  const path = form.dataset.form === "queue" ? `/api/v1/routing/queues/${form.dataset.queueId}`
    : `/api/v1/routing/rules/${form.dataset.ruleId}`;
  const response = await api("DELETE", path);
  if (response.ok) { location.reload(); return; }
  let error = { message: page.dataset.failed };
  try { error = (await response.json()).error || error; } catch { /* not JSON */ }
  const slot = slotFor(form, "form");
  slot.textContent = error.message;
  slot.hidden = false;
});
