// The conversation: live messages and ticks, the composer (reply while the window is open, else the
// template path; private notes any time), assignment and status actions, renaming the customer.
import { api, csrf, fragment, live, typing } from "./common.js";
import { setupPanel } from "./panel.js";
import { setupPresence } from "./presence.js";
import { setupPicker } from "./quick_reply_picker.js";
import { setupBotCards } from "./bot_cards.js";

const root = document.getElementById("conversation");
const id = root.dataset.conversationId;
const list = document.getElementById("messages");
const composer = document.getElementById("composer");
const text = document.getElementById("composer-text");
const submit = document.getElementById("composer-submit");
const error = document.getElementById("composer-error");
const write = document.getElementById("write");
const closedPanel = document.getElementById("window-closed");
const countdown = document.getElementById("countdown");
const countdownValue = document.getElementById("countdown-value");
const tools = document.getElementById("tools");
const locationForm = document.getElementById("location-form");

function atBottom() { return list.scrollHeight - list.scrollTop - list.clientHeight < 40; }
function toBottom() { list.scrollTop = list.scrollHeight; }
toBottom();

// --- messages ----------------------------------------------------------------------------------------

// New messages are appended; a change to one (ticks, media stored) redraws it only if it is on screen
// (an old message beyond the loaded pages stays where it is: not appended at the bottom).
const NEW_MESSAGE = new Set(["message.received", "message.queued", "message.note_added"]);

// A change heard while the new message is still being fetched redraws it once it is in.
const fetching = new Set();
const changedMeanwhile = new Set();

async function showMessage(messageId, isNew = true) {
  if (!isNew && !document.getElementById(`message-${messageId}`)) {
    if (fetching.has(messageId)) changedMeanwhile.add(messageId);
    return;
  }
  if (isNew) fetching.add(messageId);
  try {
    const fresh = await fragment(`/desk/conversations/${id}/messages/${messageId}`);
    const li = fresh?.querySelector("li.message");
    if (!li) return;
    const existing = document.getElementById(li.id);
    if (existing) existing.replaceWith(li);
    else if (isNew) {
      const stick = atBottom();
      list.append(li);
      if (stick) toBottom();
    }
  } finally {
    if (isNew) fetching.delete(messageId);
  }
  if (changedMeanwhile.delete(messageId)) showMessage(messageId, false);
}

// Redraws overlap (our own change and its live event): only the latest asked for is applied, so a slower
// earlier answer never puts back an older state.
let redraws = 0;
async function redrawHeader() {
  const mine = ++redraws;
  const fresh = await fragment(`/desk/conversations/${id}/header`);
  if (!fresh || mine !== redraws) return;
  for (const part of ["conv-header", "panel"]) {
    const replacement = fresh.querySelector("#" + part);
    if (replacement) document.getElementById(part).replaceWith(replacement);
  }
}

const presence = setupPresence(id, text, document.getElementById("presence"), document.body.dataset.userId);
setupPicker(id, text, document.getElementById("qr-picker"));
const botCards = setupBotCards(id, text, { showMessage, redrawHeader, onSendFailed: () => { windowOpen = false; layout(); } });
setupPanel(redrawHeader);

// While the conversation is on screen, what the customer writes is read (the inbox badge stays at zero).
let markTimer = null;
function markRead() {
  if (document.visibilityState !== "visible") return;
  clearTimeout(markTimer);
  markTimer = setTimeout(() => api("POST", `/api/v1/conversations/${id}/read-marker`), 300);
}
document.addEventListener("visibilitychange", markRead);

live((item) => {
  if (String(item.conversation_id) !== id) return;
  if (botCards(item)) return;  // the virtual agent's events (bot_cards.js)
  if (item.type === "desk.presence") { presence.hear(item); return; }
  if (item.type === "conversation.read") return;
  if (item.type === "contact.updated") { redrawHeader(); return; }
  if (item.message_id !== undefined && item.type !== "message.reaction_changed") {
    showMessage(item.message_id, NEW_MESSAGE.has(item.type));
  }
  else if (item.type === "message.reaction_changed") location.reload();
  if (item.type.startsWith("conversation.") || item.type === "contact.renamed") redrawHeader();
  // a customer message may bring a new WhatsApp profile name (shown small in the panel)
  if (item.type === "message.received") { reopenWindow(); markRead(); redrawHeader(); }
}, () => location.reload());

// Older messages: the page before, inserted above, keeping what the agent was looking at in place.
list.addEventListener("click", async (event) => {
  const button = event.target.closest("#older");
  if (!button) return;
  button.disabled = true;
  const older = await fragment(`/desk/conversations/${id}/older?cursor=${encodeURIComponent(button.dataset.cursor)}`);
  if (!older) { button.disabled = false; return; }
  const from = list.scrollHeight - list.scrollTop;
  const link = button.closest("li");
  link.after(...older.childNodes);
  link.remove();
  list.scrollTop = list.scrollHeight - from;
});

// --- the window --------------------------------------------------------------------------------------

let closesAt = composer.dataset.closesAt ? new Date(composer.dataset.closesAt) : null;
let windowOpen = composer.dataset.windowOpen === "1";

function reopenWindow() {
  // a customer message opens the window for 24 hours from their message; the exact time comes with a reload
  closesAt = new Date(Date.now() + 24 * 3600 * 1000);
  windowOpen = true;
  layout();
}

function layout() {
  const note = composer.dataset.mode === "note";
  write.hidden = !note && !windowOpen;
  closedPanel.hidden = note || windowOpen;
  tools.hidden = note || !windowOpen;
  if (tools.hidden) locationForm.hidden = true;
  countdown.hidden = !windowOpen;
}

function tick() {
  if (!closesAt || !windowOpen) return;
  const left = Math.floor((closesAt - Date.now()) / 1000);
  if (left <= 0) { windowOpen = false; layout(); return; }
  const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
  countdownValue.textContent = `${h}h ${String(m).padStart(2, "0")}m ${String(s).padStart(2, "0")}s`;
}
tick();
setInterval(tick, 1000);

// --- the composer ------------------------------------------------------------------------------------

function setMode(mode) {
  composer.dataset.mode = mode;
  for (const b of composer.querySelectorAll(".modes button")) b.classList.toggle("current", b.dataset.mode === mode);
  text.placeholder = mode === "note" ? text.dataset.notePlaceholder : text.dataset.replyPlaceholder;
  submit.textContent = mode === "note" ? submit.dataset.noteLabel : submit.dataset.replyLabel;
  layout();
  if (!write.hidden) text.focus();
}
for (const b of composer.querySelectorAll(".modes button")) b.addEventListener("click", () => setMode(b.dataset.mode));

function fail(detail) {
  error.textContent = `${error.dataset.prefix}: ${detail}`;
  error.hidden = false;
}

async function send() {
  const body = text.value.trim();
  if (!body) return;
  error.hidden = true;
  submit.disabled = true;
  try {
    const note = composer.dataset.mode === "note";
    const response = note
      ? await api("POST", `/api/v1/conversations/${id}/notes`, { body })
      : await fetchSend(body);
    if (!response.ok) {
      const problem = (await response.json().catch(() => ({}))).error || {};
      if (problem.code === "window.closed") { windowOpen = false; layout(); }
      fail(problem.message || response.status);
      return;
    }
    const created = await response.json();
    text.value = "";
    await showMessage(created.id);
    toBottom();
  } finally {
    submit.disabled = false;
  }
}

function fetchSend(body) {
  return api("POST", `/api/v1/conversations/${id}/messages`, { type: "text", text: { body } });
}

// Sends a message of any type and shows it; false (with the error shown) when refused.
async function sendContent(content) {
  error.hidden = true;
  const response = await api("POST", `/api/v1/conversations/${id}/messages`, content);
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))).error || {};
    if (problem.code === "window.closed") { windowOpen = false; layout(); }
    fail(problem.message || response.status);
    return false;
  }
  const created = await response.json();
  await showMessage(created.id);
  toBottom();
  return true;
}

// --- attachments: upload (POST /api/v1/media), then send as the first kind WhatsApp accepts it as ------

const attach = document.getElementById("attach");
const attachState = document.getElementById("attach-state");
const CAPTIONED = new Set(["image", "video", "document"]);
attach.addEventListener("change", async () => {
  const file = attach.files[0];
  if (!file) return;
  attachState.hidden = false;
  error.hidden = true;
  try {
    const form = new FormData();
    form.append("file", file);
    const uploaded = await fetch("/api/v1/media", {
      method: "POST", body: form, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin",
    });
    if (!uploaded.ok) {
      const problem = (await uploaded.json().catch(() => ({}))).error || {};
      fail(problem.message || uploaded.status);
      return;
    }
    const media = await uploaded.json();
    const kind = media.sendable_as[0];
    const part = { media_id: media.id };
    const caption = text.value.trim();
    if (caption && CAPTIONED.has(kind)) part.caption = caption;
    if (kind === "document") part.filename = media.filename || file.name;
    if (await sendContent({ type: kind, [kind]: part }) && part.caption) text.value = "";
  } finally {
    attachState.hidden = true;
    attach.value = "";
  }
});

// --- location ------------------------------------------------------------------------------------------

document.getElementById("location-toggle").addEventListener("click", () => {
  locationForm.hidden = !locationForm.hidden;
  if (!locationForm.hidden) document.getElementById("location-lat").focus();
});
document.getElementById("location-send").addEventListener("click", async () => {
  const value = (name) => document.getElementById(name).value.trim();
  const location = { latitude: Number(value("location-lat")), longitude: Number(value("location-lon")) };
  if (value("location-lat") === "" || value("location-lon") === "") { fail("latitude, longitude"); return; }
  if (value("location-name")) location.name = value("location-name");
  if (value("location-address")) location.address = value("location-address");
  if (await sendContent({ type: "location", location })) {
    for (const input of locationForm.querySelectorAll("input")) input.value = "";
    locationForm.hidden = true;
  }
});

composer.addEventListener("submit", (event) => { event.preventDefault(); send(); });
text.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); send(); }
});

// --- actions and the customer panel (redrawn live, so listeners are delegated) -----------------------

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const action = button.dataset.action;
  let response;
  if (action === "assign-me") response = await api("PUT", `/api/v1/conversations/${id}/assignee`, { user_id: Number(document.body.dataset.userId) });
  else if (action === "transfer") response = await api("PUT", `/api/v1/conversations/${id}/assignee`, { user_id: Number(document.getElementById("transfer-to").value) });
  else if (action === "snooze") {
    const hours = Number(document.getElementById("snooze-for").value);
    const until = new Date(Date.now() + hours * 3600 * 1000).toISOString();
    response = await api("PUT", `/api/v1/conversations/${id}/snooze`, { until });
  }
  else if (action === "unassign") response = await api("PUT", `/api/v1/conversations/${id}/assignee`, { user_id: null });
  else if (action === "resolve") response = await api("PUT", `/api/v1/conversations/${id}/status`, { status: "resolved" });
  else if (action === "reopen") response = await api("PUT", `/api/v1/conversations/${id}/status`, { status: "open" });
  if (response && response.ok) redrawHeader();
});

document.addEventListener("keydown", (event) => {
  if (event.altKey && (event.key === "n" || event.key === "N")) {
    event.preventDefault();
    setMode(composer.dataset.mode === "note" ? "reply" : "note");
  } else if (event.key === "Escape" && !typing(event)) {
    location.assign("/desk/");
  } else if (event.key === "Escape") {
    event.target.blur();
  }
});
