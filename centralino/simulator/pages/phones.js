// The simulator's phones page: polls /_sim/ui/state and redraws with textContent only
// (customer and business text never becomes HTML). Plain JS, no build step.
"use strict";

const BASE = document.body.dataset.base || "";
let number = document.body.dataset.number || "";
let customer = document.body.dataset.customer || "";
let lastDrawn = "";

async function api(method, path, body) {
  const response = await fetch(BASE + path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    alert((data.error && data.error.message) || `HTTP ${response.status}`);
    throw new Error(`HTTP ${response.status}`);
  }
  return data;
}

// el("div", {class: "x"}, "text", child) — strings become text nodes, never markup.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === "") continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function here(params) {
  const query = new URLSearchParams({ ...(number ? { number } : {}), ...params });
  return `?${query}`;
}

function drawCustomers(customers) {
  const list = document.getElementById("customers");
  list.replaceChildren(...customers.map((c) => {
    const last = Object.values(c.last_message || {})[0] || "no messages yet";
    const link = el("a", { href: here({ customer: c.wa_id }), class: c.wa_id === customer ? "current" : "" },
      (c.name || c.wa_id) + (c.reachable ? "" : " (not on WhatsApp)"),
      el("small", {}, `+${c.wa_id} · ${last}`));
    return el("li", {}, link);
  }));
  const current = customers.find((c) => c.wa_id === customer);
  if (current) {
    document.getElementById("title").textContent = current.name || current.wa_id;
    const open = Object.values(current.window_open || {})[0];
    document.getElementById("subtitle").textContent =
      `+${current.wa_id} · window ${open ? "open" : "closed"}${current.reachable ? "" : " · not on WhatsApp"}`;
  }
}

function tap(message, id) {
  return () => api("POST", `/_sim/customers/${customer}/tap`, { message_id: message.id, id }).then(refresh);
}

function media(m) {
  if (!m.media) return null;
  if (m.media.id && /^image\//.test(m.media.mime_type || "image/")) {
    return el("img", { src: `${BASE}/_sim/media/${encodeURIComponent(m.media.id)}`, alt: m.type });
  }
  if (m.media.id) return el("a", { href: `${BASE}/_sim/media/${encodeURIComponent(m.media.id)}` },
    `📎 ${m.filename || m.type}`);
  return el("div", {}, `📎 ${m.type}: ${m.media.link || ""}`);
}

function bubble(m) {
  const parts = [];
  if (m.template) parts.push(el("div", { class: "foot" }, `template ${m.template}`));
  if (m.header) parts.push(el("div", { class: "head" }, m.header));
  parts.push(media(m));
  const text = m.text || m.caption || (m.media ? "" : `[${m.type}]`);
  if (text) parts.push(el("div", {}, text));
  if (m.footer) parts.push(el("div", { class: "foot" }, m.footer));
  if (m.direction === "out") {
    for (const b of m.buttons || []) parts.push(el("button", { class: "choice", onclick: tap(m, b.id) }, b.title));
    for (const r of m.rows || []) {
      parts.push(el("button", { class: "choice", onclick: tap(m, r.id) },
        r.title + (r.description ? ` — ${r.description}` : "")));
    }
    for (const q of m.quick_replies || []) {
      parts.push(el("button", { class: "choice", onclick: tap(m, String(q.index)) }, q.text));
    }
    for (const label of m.buttons_shown || []) parts.push(el("div", { class: "foot" }, `🔗 ${label}`));
    if (m.cta) parts.push(el("div", { class: "foot" }, `🔗 ${m.cta.display_text}: ${m.cta.url}`));
    if (m.type === "audio" && m.status !== "failed") {
      parts.push(el("button", { class: "choice",
        onclick: () => api("POST", `/_sim/messages/${m.id}/play`).then(refresh) }, "▶ play"));
    }
    if (m.error) parts.push(el("div", { class: "error" }, `${m.error.code} ${m.error.title}`));
    parts.push(el("div", { class: "meta" }, new Date(m.timestamp * 1000).toLocaleTimeString(), " ",
      el("span", { class: `ticks-${m.status}`, title: m.status }, m.ticks)));
  } else {
    parts.push(el("div", { class: "meta" }, new Date(m.timestamp * 1000).toLocaleTimeString(),
      m.read_by_business ? " · read by the business" : ""));
  }
  return el("div", { class: `bubble ${m.direction}` }, ...parts);
}

function drawMessages(messages) {
  const box = document.getElementById("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren(...(messages.length ? messages.map(bubble) : [el("p", { class: "empty" }, "No messages.")]));
  if (atBottom) box.scrollTop = box.scrollHeight;
}

async function refresh() {
  const query = new URLSearchParams({ ...(number ? { phone_number_id: number } : {}), wa_id: customer });
  const state = await fetch(`${BASE}/_sim/ui/state?${query}`).then((r) => r.json());
  const drawn = JSON.stringify(state);
  if (drawn === lastDrawn) return;
  lastDrawn = drawn;
  number = state.phone_number_id || number;
  drawCustomers(state.customers);
  if (customer) drawMessages(state.messages);
}

function send(body) {
  if (!customer) { alert("Pick or create a customer first."); return Promise.resolve(); }
  return api("POST", `/_sim/customers/${customer}/messages`, { phone_number_id: number || undefined, ...body })
    .then(refresh);
}

document.getElementById("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("text");
  if (input.value.trim()) send({ type: "text", body: input.value }).then(() => { input.value = ""; });
});

document.getElementById("send-location").addEventListener("click", () => {
  const place = prompt("Place name (empty for a current-location share)", "Duomo di Milano");
  if (place === null) return;
  send({ type: "location", latitude: 45.4642, longitude: 9.19, ...(place ? { name: place } : {}) });
});

document.getElementById("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    const content = String(reader.result).split(",", 2)[1];
    const type = /^image\/(png|jpeg)$/.test(file.type) ? "image" : "document";
    send({ type, content_base64: content, mime_type: file.type || "application/octet-stream",
      filename: file.name });
    event.target.value = "";
  };
  reader.readAsDataURL(file);
});

document.getElementById("read-all").addEventListener("click", () => {
  if (customer) api("POST", `/_sim/customers/${customer}/read`, { phone_number_id: number || undefined }).then(refresh);
});

document.getElementById("new-customer").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  api("POST", "/_sim/customers", { wa_id: form.get("wa_id"), name: form.get("name"),
    reachable: !form.get("unreachable") }).then((created) => { location.search = here({ customer: created.wa_id }); });
});

const select = document.getElementById("number-select");
if (select) select.addEventListener("change", () => { location.search = `?number=${encodeURIComponent(select.value)}`; });

refresh();
setInterval(refresh, 1000);
