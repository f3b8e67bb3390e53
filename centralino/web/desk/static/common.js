// Shared by every desktop page: CSRF-carrying requests, the live event stream, language, sign-out.
// Text from the server arrives as HTML fragments rendered (and escaped) by the server's templates;
// nothing here builds markup from customer data.

export const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 401) {
    window.location.assign("/desk/sign-in?next=" + encodeURIComponent(location.pathname + location.search));
  }
  return response;
}

export async function fragment(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  if (!response.ok) return null;
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  return doc.body;
}

// Server-sent events: `onEvent(item)` for each; `onResync()` after a reconnect (events may have been
// missed while disconnected, so the page re-reads what it shows).
export function live(onEvent, onResync) {
  const badge = document.getElementById("live-state");
  let opened = false;
  const source = new EventSource("/desk/events");
  source.onopen = () => {
    if (badge) badge.hidden = true;
    if (opened) onResync();
    opened = true;
  };
  source.onerror = () => { if (badge && source.readyState !== EventSource.OPEN) badge.hidden = false; };
  source.onmessage = (message) => {
    const item = JSON.parse(message.data);
    if (item.type === "resync") onResync(); else onEvent(item);
  };
  return source;
}

export function typing(event) {
  const el = event.target;
  return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
}

function header() {
  const language = document.getElementById("language");
  if (language) {
    language.addEventListener("change", async () => {
      await api("PUT", "/api/v1/auth/language", { language: language.value });
      location.reload();
    });
  }
  const signOut = document.getElementById("sign-out");
  if (signOut) {
    signOut.addEventListener("click", async () => {
      await api("POST", "/api/v1/auth/sign-out");
      location.assign("/desk/sign-in");
    });
  }
}

header();
