// The Operations Center console: sign-in, the router, and the session shared by the views.
// The API key lives in this tab's sessionStorage only; `#key=…` is accepted once and removed.

import { Live, graphql } from "./api.js";
import { clear, errorBox, h } from "./dom.js";
import { renderDetail } from "./detail.js";
import { renderSupervisor } from "./supervisor.js";
import { renderTable } from "./table.js";

const KEY = "sentinai.console.key";
const VIEWER = "sentinai.console.viewer";
const WHO_AM_I = "query Viewer { viewer { role actorId tenant { tenantId name } } }";
const VIEWS = { exceptions: renderTable, exception: renderDetail, supervisor: renderSupervisor };
const LIVE_WORDS = { live: "● live", reconnecting: "○ reconnecting…", refused: "× live updates refused", off: "" };

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const liveState = document.getElementById("live-state");
const signOutButton = document.getElementById("sign-out");

let session = null;
let teardown = () => {};
let lastList = "?view=exceptions";
let routed = 0;

function takeKeyFromFragment() {
  const match = /^#key=([^&]+)/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
  sessionStorage.removeItem(VIEWER);
  history.replaceState(null, "", location.pathname + location.search);
}

async function identify(key) {
  const { viewer } = await graphql(key, WHO_AM_I);
  if (!viewer.tenant) throw new Error("This credential belongs to no tenant: sign in with one of a tenant's API keys.");
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(VIEWER, JSON.stringify(viewer));
  return viewer;
}

function signOut() {
  teardown();
  teardown = () => {};
  if (session) session.live.close();
  session = null;
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(VIEWER);
  history.pushState(null, "", location.pathname);
  start();
}

function showSignIn(error) {
  nav.hidden = signOutButton.hidden = true;
  who.textContent = liveState.textContent = "";
  const input = h("input", { id: "api-key", name: "key", type: "password", autocomplete: "off", spellcheck: "false", required: true, placeholder: "sk_…" });
  const form = h(
    "form",
    { class: "sign-in", id: "sign-in" },
    h("label", { for: "api-key" }, "API key"),
    input,
    h("button", { type: "submit" }, "Sign in"),
    h("p", { class: "muted" }, "The key stays in this browser tab (session storage) until you sign out or close the tab. The demo (python3 dev.py demo) prints keys for each tenant and role."),
  );
  const problems = h("div");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await identify(input.value.trim());
      start();
    } catch (failure) {
      clear(problems, errorBox(failure, "Not signed in:"));
    }
  });
  clear(main, h("h1", {}, "Sign in"), problems, form);
  if (error) problems.append(errorBox(error, "Not signed in:"));
  input.focus();
}

async function start() {
  takeKeyFromFragment();
  const key = sessionStorage.getItem(KEY);
  if (!key) return showSignIn();
  let viewer = JSON.parse(sessionStorage.getItem(VIEWER) || "null");
  if (!viewer) {
    try {
      viewer = await identify(key);
    } catch (error) {
      sessionStorage.removeItem(KEY);
      return showSignIn(error);
    }
  }
  const live = new Live(key, (state) => (liveState.textContent = LIVE_WORDS[state] || ""));
  session = { key, viewer, live };
  who.textContent = `${viewer.tenant.name} · ${viewer.role.toLowerCase()}`;
  who.title = `tenant ${viewer.tenant.tenantId}, acting as ${viewer.actorId}`;
  nav.hidden = signOutButton.hidden = false;
  route();
}

const context = {
  get viewer() {
    return session.viewer;
  },
  get live() {
    return session.live;
  },
  request: (query, variables) => graphql(session.key, query, variables),
  navigate(href) {
    history.pushState(null, "", new URL(href, location.href));
    route();
  },
  lastList: () => lastList,
  painted(view) {
    requestAnimationFrame(() => {
      if (!performance.getEntriesByName(`sentinai:${view}`).length) performance.mark(`sentinai:${view}`);
      document.body.dataset.painted = view;
    });
  },
};

function route() {
  if (!session) return;
  teardown();
  delete document.body.dataset.painted;
  const params = new URLSearchParams(location.search);
  const view = params.get("view") in VIEWS ? params.get("view") : "exceptions";
  if (view === "exceptions") lastList = location.search || "?view=exceptions";
  for (const link of nav.querySelectorAll("a")) link.setAttribute("aria-current", link.dataset.view === view ? "page" : "false");
  document.title = `${view === "supervisor" ? "Supervisor" : "Exceptions"} · SentinAI`;
  const stop = VIEWS[view](context, params, main);
  teardown = typeof stop === "function" ? stop : () => {};
  if (routed++) main.focus({ preventScroll: false }); // keyboard and screen-reader users land on the new view
}

document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a[data-nav]");
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  context.navigate(link.getAttribute("href"));
});
window.addEventListener("popstate", route);
signOutButton.addEventListener("click", signOut);
start();
