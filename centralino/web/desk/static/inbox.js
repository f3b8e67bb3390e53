// The inbox: live reordering (new conversations and messages move rows up), j/k/Enter, "/" to search.
import { fragment, live, typing } from "./common.js";

const inbox = document.getElementById("inbox");
const rows = document.getElementById("rows");
let selected = -1;
let timer = null;

function items() { return Array.from(rows.querySelectorAll("li.row")); }

function select(index) {
  const list = items();
  if (!list.length) return;
  selected = Math.max(0, Math.min(index, list.length - 1));
  list.forEach((li, i) => li.classList.toggle("selected", i === selected));
  list[selected].scrollIntoView({ block: "nearest" });
}

async function redraw(changed) {
  const params = new URLSearchParams({ view: inbox.dataset.view, q: inbox.dataset.q });
  const fresh = await fragment("/desk/inbox/rows?" + params);
  if (!fresh) return;
  const selectedId = items()[selected]?.dataset.conversationId;
  rows.replaceChildren(...fresh.childNodes);
  for (const li of items()) {
    if (changed.has(li.dataset.conversationId)) li.classList.add("fresh");
  }
  const again = items().findIndex((li) => li.dataset.conversationId === selectedId);
  if (again >= 0) select(again);
}

// Several events in a burst redraw once.
let changed = new Set();
function soon(conversationId) {
  if (conversationId !== undefined) changed.add(String(conversationId));
  clearTimeout(timer);
  timer = setTimeout(() => { const c = changed; changed = new Set(); redraw(c); }, 150);
}

// Only the first page is live: an older page stays as it was loaded.
if (!new URLSearchParams(location.search).get("cursor")) {
  live((item) => {
    if (item.type === "message.status_changed" || item.type === "desk.presence") return;
    // the bot's decisions change no row; its handoff does (the "bot" badge goes)
    if (item.type === "bot.turn_decided" || item.type === "bot.suggested") return;
    // read: only a row showing an unread badge changes
    if (item.type === "conversation.read"
        && !rows.querySelector(`li.row[data-conversation-id="${item.conversation_id}"] .badge.unread`)) return;
    soon(item.conversation_id);
  }, () => soon());
}

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && typing(event)) { event.target.blur(); return; }
  if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "/") { event.preventDefault(); document.getElementById("search").focus(); }
  else if (event.key === "j") select(selected + 1);
  else if (event.key === "k") select(selected - 1);
  else if (event.key === "Enter" && selected >= 0) items()[selected].querySelector("a").click();
});
