// The conversation's cases in the customer panel: the section arrives as a placeholder (the panel is redrawn
// live, each redraw bringing a new one) and is filled from /desk/conversations/{id}/cases.
import { fragment } from "./common.js";

async function load(section) {
  section.dataset.loading = "1";
  const body = await fragment(`/desk/conversations/${section.dataset.conversationId}/cases`);
  const fresh = body?.querySelector("#conv-cases");
  if (fresh && section.isConnected) section.replaceWith(fresh);
}

function fill() {
  document.querySelectorAll("#conv-cases:not([data-loaded]):not([data-loading])").forEach(load);
}

new MutationObserver(fill).observe(document.body, { childList: true, subtree: true });
fill();
