// The signed-in agent's routing presence in the header (online / busy / away / offline, with a reason for
// the last three), saved through the routing API. Hidden where routing is not available.
import { api } from "./common.js";

const box = document.getElementById("presence-switch");
const state = document.getElementById("presence-state");
const reason = document.getElementById("presence-reason");
const me = document.body.dataset.userId;

function show(presence) {
  state.value = presence.state;
  reason.value = presence.reason || "";
  reason.hidden = presence.state === "online";
  box.dataset.state = presence.state;
}

async function save() {
  const body = { state: state.value, reason: state.value === "online" ? null : (reason.value.trim() || null) };
  const response = await api("PUT", `/api/v1/routing/agents/${me}/presence`, body);
  box.classList.toggle("error", !response.ok);
  // only the state: the reason box may already hold newer typing than this answer
  if (response.ok) box.dataset.state = (await response.json()).presence.state;
}

async function start() {
  if (!box || !me) return;
  const response = await fetch("/api/v1/routing/agents/me", { credentials: "same-origin" });
  if (!response.ok) return;
  show((await response.json()).presence);
  box.hidden = false;
  state.addEventListener("change", () => { reason.hidden = state.value === "online"; save(); });
  reason.addEventListener("change", save);
}

start();
