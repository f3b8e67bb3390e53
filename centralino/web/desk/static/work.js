// The department work view: "select all", filters saved in this browser (the filter is the query string, so a
// saved filter is a link; nothing is stored on the server), and the list re-read when the live stream says a
// case or task changed (not while rows are ticked: the selection stays under the user's hands).
import { fragment, live } from "./common.js";

const KEY = "centralino.work.filters";
const table = document.querySelector(".work-table");
const all = document.getElementById("select-all");
if (table && all) {
  all.hidden = false;
  all.addEventListener("change", () => {
    table.querySelectorAll("input[name=items]").forEach((box) => { box.checked = all.checked; });
  });
}

function saved() {
  try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch { return []; }
}

function store(list) { localStorage.setItem(KEY, JSON.stringify(list.slice(0, 20))); }

const holder = document.getElementById("saved-filters");
function draw() {
  if (!holder) return;
  holder.replaceChildren();
  for (const item of saved()) {
    const link = document.createElement("a");
    link.href = item.url;
    link.textContent = item.name;  // text, never markup
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `${holder.dataset.removeLabel} ${item.name}`);
    remove.addEventListener("click", () => { store(saved().filter((s) => s.url !== item.url || s.name !== item.name)); draw(); });
    holder.append(link, remove);
  }
  const name = document.createElement("input");
  name.maxLength = 60;
  name.placeholder = holder.dataset.namePrompt;
  name.setAttribute("aria-label", holder.dataset.namePrompt);
  const save = document.createElement("button");
  save.type = "button";
  save.textContent = holder.dataset.saveLabel;
  save.addEventListener("click", () => {
    if (!name.value.trim()) { name.focus(); return; }
    store([...saved(), { name: name.value.trim(), url: location.pathname + location.search }]);
    draw();
  });
  holder.append(name, save);
  holder.hidden = false;
}
draw();

async function redraw() {
  const body = document.querySelector(".work-table tbody");
  if (!body || document.querySelector(".work-table input[name=items]:checked")) return;
  const fresh = (await fragment(location.pathname + location.search))?.querySelector(".work-table tbody");
  if (fresh && body.isConnected) body.replaceWith(fresh);
}

if (table) live((item) => { if (item.case_id !== undefined) redraw(); }, redraw);
