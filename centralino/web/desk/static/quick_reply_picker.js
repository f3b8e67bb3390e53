// The composer's quick-reply picker: "/" followed by letters opens the list of quick replies matching
// them (rendered by the server for this conversation); arrows move, Enter or Tab insert, Esc closes.
// The text goes into the box as plain text (textarea value), never as markup.
import { fragment } from "./common.js";

const TOKEN = /(^|\s)\/([\w-]*)$/;

export function setupPicker(conversationId, text, picker) {
  let active = -1;
  let asked = 0;
  let token = null; // { start, end } of "/query" in the text box

  const options = () => Array.from(picker.querySelectorAll("li.qr-option"));
  const isOpen = () => !picker.hidden;

  function close() { picker.hidden = true; picker.replaceChildren(); active = -1; token = null; }

  function highlight(index) {
    const list = options();
    if (!list.length) return;
    active = (index + list.length) % list.length;
    list.forEach((li, i) => li.classList.toggle("active", i === active));
    list[active].scrollIntoView({ block: "nearest" });
  }

  async function refresh() {
    const before = text.value.slice(0, text.selectionStart);
    const match = TOKEN.exec(before);
    if (!match) { close(); return; }
    token = { start: before.length - match[2].length - 1, end: text.selectionStart };
    const mine = ++asked;
    const list = await fragment(`/desk/conversations/${conversationId}/quick-replies?q=${encodeURIComponent(match[2])}`);
    if (mine !== asked || !list) return; // a later keystroke asked again
    picker.replaceChildren(...list.childNodes);
    picker.hidden = false;
    highlight(0);
  }

  function choose(li) {
    if (!li || !token) return;
    const chosen = li.dataset.text;
    text.value = text.value.slice(0, token.start) + chosen + text.value.slice(token.end);
    const caret = token.start + chosen.length;
    close();
    text.focus();
    text.setSelectionRange(caret, caret);
    text.dispatchEvent(new Event("input", { bubbles: true }));
  }

  text.addEventListener("input", (event) => { if (!event.isTrusted && !isOpen()) return; refresh(); });
  text.addEventListener("keydown", (event) => {
    if (!isOpen()) return;
    if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
    else if ((event.key === "Enter" && !event.ctrlKey && !event.metaKey) || event.key === "Tab") {
      if (options().length) { event.preventDefault(); event.stopImmediatePropagation(); choose(options()[active]); }
    } else if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); close(); }
  });
  picker.addEventListener("mousedown", (event) => {
    const li = event.target.closest("li.qr-option");
    if (li) { event.preventDefault(); choose(li); }
  });
  text.addEventListener("blur", () => setTimeout(close, 150));
}
