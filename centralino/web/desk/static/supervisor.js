// The supervisor's live view: the fragment is re-read when the desk's event stream says work or presence
// moved (routing.*, agent.presence_changed, assignments), after an action, and every few seconds anyway
// (the waits tick; a worker process's events may not reach this one). Take over, reassign and whisper go
// through the JSON API, so the server's checks apply.
import { api, fragment, live } from "./common.js";

const page = document.getElementById("sup-page");
const box = document.getElementById("sup-live");
const error = document.getElementById("sup-error");
const REFRESH_MS = 5000;
const MOVES = /^(routing\.|agent\.presence_changed$|conversation\.(assigned|opened|status_changed)$)/;
let busy = false; // a select open for reassigning must not be redrawn under the user's pointer

async function refresh() {
  if (busy) return;
  const body = await fragment("/desk/supervisor/live");
  if (body && !busy) box.replaceChildren(...body.childNodes);
}

async function act(response) {
  if (response.ok) { error.hidden = true; }
  else {
    let message = page.dataset.failed;
    try { message = (await response.json()).error.message || message; } catch { /* not JSON */ }
    error.textContent = message;
    error.hidden = false;
  }
  busy = false;
  await refresh();
}

box.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const row = button.closest("tr[data-conversation-id]");
  const id = row.dataset.conversationId;
  if (button.dataset.action === "take") {
    await act(await api("PUT", `/api/v1/conversations/${id}/assignee`, { user_id: Number(page.dataset.me) }));
  } else if (button.dataset.action === "whisper") {
    busy = true;
    const text = window.prompt(page.dataset.whisperPrompt);
    if (!text || !text.trim()) { busy = false; return; }
    await act(await api("POST", `/api/v1/conversations/${id}/notes`, { body: text }));
  }
});

box.addEventListener("focusin", (event) => { if (event.target.matches("select[data-action]")) busy = true; });
box.addEventListener("focusout", (event) => { if (event.target.matches("select[data-action]")) busy = false; });
box.addEventListener("change", async (event) => {
  const select = event.target.closest("select[data-action=reassign]");
  if (!select || !select.value) return;
  const id = select.closest("tr[data-conversation-id]").dataset.conversationId;
  await act(await api("PUT", `/api/v1/conversations/${id}/assignee`, { user_id: Number(select.value) }));
});

let timer = null;
function soon() {
  clearTimeout(timer);
  timer = setTimeout(refresh, 150); // a burst of events, one re-read
}

live((item) => { if (MOVES.test(item.type)) soon(); }, soon);
setInterval(() => { if (document.visibilityState === "visible") refresh(); }, REFRESH_MS);
