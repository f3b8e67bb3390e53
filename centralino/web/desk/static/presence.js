// "Anna is typing… / is viewing": the others with this conversation open, carried live by the event
// stream (desk.presence events, never stored). We announce ourselves while the page is open.
import { api } from "./common.js";

const VIEWING_FOR_MS = 25000; // we repeat "viewing" every 10 s while open
const TYPING_FOR_MS = 5000;

export function setupPresence(conversationId, text, box, myUserId) {
  const others = new Map(); // user id -> { name, state, until }
  const path = `/api/v1/conversations/${conversationId}/presence`;
  let lastTyping = 0;

  const announce = (state) => api("POST", path, { state }).catch(() => {});

  function draw() {
    const now = Date.now();
    const lines = [];
    for (const [userId, who] of others) {
      if (who.until < now) {
        if (who.state === "typing") { who.state = "viewing"; who.until = who.seen + VIEWING_FOR_MS; }
        if (who.until < now) { others.delete(userId); continue; }
      }
      lines.push(`${who.name} ${who.state === "typing" ? box.dataset.typing : box.dataset.viewing}`);
    }
    box.textContent = lines.join(" · ");
    box.hidden = lines.length === 0;
  }

  function hear(item) {
    if (String(item.user_id) === String(myUserId)) return;
    if (item.state === "left") others.delete(item.user_id);
    else {
      const now = Date.now();
      const seen = item.state === "viewing" ? now : (others.get(item.user_id)?.seen || now);
      others.set(item.user_id, { name: item.name || "?", state: item.state, seen,
        until: now + (item.state === "typing" ? TYPING_FOR_MS : VIEWING_FOR_MS) });
    }
    draw();
  }

  announce("viewing");
  setInterval(() => { if (document.visibilityState === "visible") announce("viewing"); }, 10000);
  setInterval(draw, 1000);
  text.addEventListener("input", () => {
    const now = Date.now();
    if (now - lastTyping > 2000) { lastTyping = now; announce("typing"); }
  });
  window.addEventListener("pagehide", () => {
    fetch(path, { method: "POST", keepalive: true, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]')?.content || "" },
      body: JSON.stringify({ state: "left" }) });
  });
  return { hear };
}
