// The department work view: "select all", and filters saved in this browser (the filter is the query string,
// so a saved filter is a link; nothing is stored on the server).
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
