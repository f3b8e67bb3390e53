// The case pages work without this script (plain forms, <details> dialogs). It adds: the open-case form shows
// only the chosen type's fields and ticks "the last N" messages in place; Escape closes an open dialog; the
// case page redraws itself when the live stream says this case or one of its tasks changed.
import { fragment, live, typing } from "./common.js";

const form = document.getElementById("open-case-form");
if (form) {
  const type = document.getElementById("n-type");
  const showFields = () => {
    form.querySelectorAll("fieldset.type-fields").forEach((set) => {
      const shown = set.dataset.typeId === type.value;
      set.hidden = !shown;
      set.disabled = !shown;  // a hidden type's fields are not sent
    });
  };
  type?.addEventListener("change", showFields);
  showFields();
  form.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-last]");
    if (!link) return;
    event.preventDefault();
    const boxes = Array.from(form.querySelectorAll("input[name=message_ids]"));
    const n = Number(link.dataset.last);
    boxes.forEach((box, i) => { box.checked = i >= boxes.length - n; });
  });
}

document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const open = event.target.closest?.("details[open].case-dialog") || document.querySelector("details[open].case-dialog");
  if (open) { open.open = false; open.querySelector("summary")?.focus(); }
});

const page = document.getElementById("case");
if (page) {
  const caseId = Number(page.dataset.caseId);
  let pending = false;
  const busy = () => typing({ target: document.activeElement }) || document.querySelector("details[open].case-dialog");
  async function redraw() {
    if (busy()) { pending = true; return; }  // never under the user's hands: once they are done
    pending = false;
    const body = await fragment(location.pathname);
    const fresh = body?.querySelector("#case");
    const current = document.getElementById("case");
    if (fresh && current) current.replaceWith(fresh);
  }
  document.addEventListener("focusout", () => { if (pending) setTimeout(redraw, 300); });
  document.addEventListener("toggle", () => { if (pending) setTimeout(redraw, 300); }, true);
  live((item) => {
    if (item.case_id === caseId) redraw();
  }, redraw);
}
