// The virtual agent in the conversation (docs/bot.md "The agent's side"): the handoff summary and suggestion
// cards (#bot-cards, redrawn from /desk/conversations/{id}/bot), "Send" (one click: sent as the agent through the
// same use case as the composer), "Edit" (the text into the composer), and "Take over" in the header.
// The cards are server-rendered and escaped; nothing here builds markup from their text.
import { api, fragment } from "./common.js";

export function setupBotCards(id, composerText, { showMessage, redrawHeader, onSendFailed }) {
  let redraws = 0;

  // Only the latest redraw asked for is applied (a slower earlier answer never puts back an older card).
  async function redraw() {
    const mine = ++redraws;
    const fresh = await fragment(`/desk/conversations/${id}/bot`);
    const replacement = fresh?.querySelector("#bot-cards");
    if (!replacement || mine !== redraws) return;
    document.getElementById("bot-cards").replaceWith(replacement);
  }

  // The runtime's events come in bursts (a suggestion: bot.handed_off, bot.turn_decided, bot.suggested in one
  // transaction): they redraw once.
  let timer = null;
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(redraw, 50);
  }

  function suggestionShown() { return Boolean(document.getElementById("bot-suggestion")); }

  function fail(detail) {
    const error = document.getElementById("bot-error");
    if (!error) return;
    error.textContent = `${error.dataset.prefix}: ${detail}`;
    error.hidden = false;
  }

  async function sendSuggestion(button) {
    const card = document.getElementById("bot-suggestion");
    button.disabled = true;
    const response = await api("POST", `/api/v1/conversations/${id}/bot/suggestion`, { turn_id: Number(card.dataset.turnId) });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      const detail = problem.error || problem;
      if (detail.code === "window.closed") onSendFailed(detail);
      fail(detail.message || response.status);
      button.disabled = false;
      if (detail.code === "bot.suggestion_gone") redraw();
      return;
    }
    card.remove();  // the card goes at once; the redraw confirms it
    const created = await response.json();
    await showMessage(created.id);
    redraw();
  }

  function editSuggestion() {
    const suggestion = document.getElementById("bot-suggestion-text");
    if (!suggestion) return;
    composerText.value = suggestion.textContent.trim();
    composerText.focus();
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-bot-action]");
    if (!button) return;
    const action = button.dataset.botAction;
    if (action === "send-suggestion") await sendSuggestion(button);
    else if (action === "edit-suggestion") editSuggestion();
    else if (action === "take-over") {
      button.disabled = true;
      const response = await api("POST", `/api/v1/conversations/${id}/bot/take-over`);
      if (!response.ok) button.disabled = false;
      redrawHeader();
      redraw();
    }
  });

  // A live event of this conversation: whether the bot cards need a redraw. Only a page showing the conversation
  // gets here, and only bot events (or a change that can make a shown suggestion stale) cost a request.
  return function hear(item) {
    if (item.type === "bot.handed_off") { soon(); redrawHeader(); return true; }
    if (item.type.startsWith("bot.")) { soon(); return true; }
    if ((item.type === "message.received" || item.type === "message.queued") && suggestionShown()) soon();
    else if (item.type === "conversation.assigned" && document.getElementById("bot-summary")) soon();
    return false;
  };
}
