// SLA policy and business-hours forms: each form becomes the service-level API's JSON; the API validates
// (422 naming the field, e.g. "escalation[1].action" or "calendar.hours.mon") and its message is shown next
// to that field. Nothing is checked here beyond splitting the text, so the rules live in one place.
import { api } from "./common.js";

const page = document.querySelector(".rcfg-page");

const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
const number = (text) => (text.trim() !== "" && !Number.isNaN(Number(text)) ? Number(text) : text.trim());
const optional = (text) => (text.trim() === "" ? null : number(text));
const lines = (text) => text.split("\n").map((s) => s.trim()).filter(Boolean);

// "breached raise_priority 2" → {on: "breached", action: "raise_priority", by: 2}
function escalation(text) {
  return lines(text).map((line) => {
    const [on, action, by] = line.split(/\s+/);
    return by === undefined ? { on, action } : { on, action, by: number(by) };
  });
}

// "mon 09:00-13:00 14:00-18:00" → {mon: [["09:00", "13:00"], ["14:00", "18:00"]]}
function weekly(text) {
  const out = {};
  for (const line of lines(text)) {
    const [day, ...ranges] = line.split(/\s+/);
    out[day] = (out[day] || []).concat(ranges.map((r) => r.split("-")));
  }
  return out;
}

// "it: Siamo chiusi" → {it: "Siamo chiusi"}
function texts(text) {
  return Object.fromEntries(lines(text).map((line) => {
    const at = line.indexOf(":");
    return at < 0 ? [line, ""] : [line.slice(0, at).trim(), line.slice(at + 1).trim()];
  }));
}

// what each form sends: [method, path, body]
const requests = {
  policy(form) {
    const e = form.elements;
    const id = form.dataset.policyId;
    const body = {
      name: e.name.value, queue_id: e.queue_id.value ? number(e.queue_id.value) : null,
      priority: optional(e.priority.value), first_response_s: optional(e.first_response_s.value),
      next_response_s: optional(e.next_response_s.value), resolution_s: optional(e.resolution_s.value),
      warn_percent: number(e.warn_percent.value), escalation: escalation(e.escalation.value),
      active: e.active.checked,
    };
    return [id ? "PUT" : "POST", id ? `/api/v1/sla-policies/${id}` : "/api/v1/sla-policies", body];
  },
  hours(form) {
    const e = form.elements;
    const body = {
      calendar: {
        time_zone: e.time_zone.value.trim(), hours: weekly(e.hours.value), holidays: e.holidays.value || null,
        closed_dates: list(e.closed_dates.value), open_dates: list(e.open_dates.value),
      },
      out_of_hours: e.out_of_hours.value, auto_reply: texts(e.auto_reply.value),
    };
    return ["PUT", `/api/v1/queues/${form.dataset.queueId}/hours`, body];
  },
};

// "escalation[1].action" → the slot for "escalation"; "calendar.hours.mon" → "calendar.hours"
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

async function show(form, response) {
  let error = { message: page.dataset.failed };
  try { error = (await response.json()).error || error; } catch { /* not JSON */ }
  const slot = slotFor(form, error.field);
  slot.textContent = error.field ? `${error.field}: ${error.message}` : error.message;
  slot.hidden = false;
}

async function submit(form) {
  form.querySelectorAll("[data-error-for]").forEach((slot) => { slot.hidden = true; slot.textContent = ""; });
  const status = form.querySelector("[data-status]");
  status.textContent = "";
  const [method, path, body] = requests[form.dataset.form](form);
  const response = await api(method, path, body);
  if (!response.ok) { await show(form, response); return; }
  status.textContent = page.dataset.saved;
  if (method === "POST") location.reload();
}

page.addEventListener("submit", (event) => {
  event.preventDefault();
  submit(event.target);
});

page.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-delete]");
  if (!button) return;
  const form = button.closest("form");
  const response = await api("DELETE", `/api/v1/sla-policies/${form.dataset.policyId}`);
  if (response.ok) { location.reload(); return; }
  await show(form, response);
});
