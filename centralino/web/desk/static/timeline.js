// The Timeline section (a customer's in the customer panel, or a case's): the section arrives as a placeholder
// (the panel is redrawn live) and is filled from its data-source URL; the filters reload the first page, "load more"
// appends the next one. The HTML comes rendered and escaped by the server's templates.
import { fragment } from "./common.js";

function query(section, cursor) {
  const params = new URLSearchParams();
  const kind = section.querySelector("#timeline-kind")?.value;
  const channel = section.querySelector("#timeline-channel")?.value;
  if (kind) params.set("kind", kind);
  if (channel) params.set("channel", channel);
  if (cursor) params.set("cursor", cursor);
  return params.toString();
}

async function load(section) {
  section.dataset.loading = "1";
  const body = await fragment(`${section.dataset.source}?${query(section)}`);
  const fresh = body?.querySelector("#timeline-panel");
  if (fresh && section.isConnected) section.replaceWith(fresh);
}

async function more(button) {
  const section = button.closest("#timeline-panel");
  const list = section?.querySelector("#timeline-list");
  if (!list) return;
  button.disabled = true;
  const body = await fragment(`${section.dataset.source}/entries?${query(section, button.dataset.cursor)}`);
  if (!body) { button.disabled = false; return; }
  button.closest("li")?.remove();
  list.append(...body.children);
}

function fill() {
  document.querySelectorAll("#timeline-panel:not([data-loaded]):not([data-loading])").forEach(load);
}

document.addEventListener("change", (event) => {
  const target = event.target;
  if (target.id !== "timeline-kind" && target.id !== "timeline-channel") return;
  const section = target.closest("#timeline-panel");
  if (section) load(section);
});
document.addEventListener("click", (event) => {
  const button = event.target.closest?.("#timeline-more");
  if (button) more(button);
});
new MutationObserver(fill).observe(document.body, { childList: true, subtree: true });
fill();
