// The Operations Center console: sign-in, the router, and the session shared by the views.
// The API key lives in this tab's sessionStorage only. A `#key=…` link is read once and removed
// from the address at once (on load and when followed in an open tab); it signs in a tab that has
// no key, and a tab that has another one asks before switching.

import { Live, graphql } from "./api.js";
import { clear, errorBox, h, ident } from "./dom.js";
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

/** The key of a `#key=…` address, or null. The fragment is replaced away before anything else
 * happens, so the key stays neither in the address bar nor in the tab's history. */
function takeKeyFromAddress() {
  const match = /(?:^#|&)key=([^&]*)/.exec(location.hash);
  if (!match) return null;
  history.replaceState(history.state, "", location.pathname + location.search);
  try {
    return decodeURIComponent(match[1]).trim() || null;
  } catch {
    return null; // not percent-encoded text: no key
  }
}

/** The key's viewer; throws when the API refuses it or it belongs to no tenant. */
async function lookUp(key) {
  const { viewer } = await graphql(key, WHO_AM_I);
  if (!viewer.tenant) throw new Error("This credential belongs to no tenant: sign in with one of a tenant's API keys.");
  return viewer;
}

function remember(key, viewer) {
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(VIEWER, JSON.stringify(viewer));
}

async function identify(key) {
  const viewer = await lookUp(key);
  remember(key, viewer);
  return viewer;
}

function endSession() {
  teardown();
  teardown = () => {};
  if (session) session.live.close();
  session = null;
}

function signOut() {
  endSession();
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(VIEWER);
  history.pushState(null, "", location.pathname);
  start();
}

/** "northbank (tenant 3) · operator", every part an isolated identifier. */
function describeViewer(viewer) {
  if (!viewer) return "the key this tab is signed in with";
  return h("span", {}, ident(viewer.tenant.name), " (tenant ", ident(viewer.tenant.tenantId), ") · ", ident(viewer.role.toLowerCase()));
}

let offer = null; // the open "switch key?" dialog

/** A link brought `key` while this tab is signed in with another: ask, never switch silently. */
async function offerSwitch(key) {
  if (offer) offer.remove(); // an earlier link's question, perhaps not yet shown: this one replaces it
  const current = JSON.parse(sessionStorage.getItem(VIEWER) || "null");
  const dialog = (offer = h("dialog", { class: "switch-key", id: "switch-key", "aria-labelledby": "switch-key-title" }));
  const keep = h("button", { type: "button", class: "keep", onclick: () => dialog.close("keep") }, "Keep current");
  document.body.append(dialog);
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (offer === dialog) offer = null;
  });
  let viewer;
  try {
    viewer = await lookUp(key);
  } catch (error) {
    clear(dialog, h("h2", { id: "switch-key-title" }, "The link's API key is not accepted"), errorBox(error), h("p", {}, "You stay signed in as ", describeViewer(current), "."), h("div", { class: "choices" }, keep));
    return showModal(dialog, keep);
  }
  const change = () => {
    dialog.close("switch");
    endSession();
    remember(key, viewer);
    start();
  };
  clear(
    dialog,
    h("h2", { id: "switch-key-title" }, "Switch to another API key?"),
    h("p", {}, "The link you followed carries a different API key than the one this tab is signed in with."),
    h("dl", { class: "facts" }, h("dt", {}, "Signed in as"), h("dd", { class: "current" }, describeViewer(current)), h("dt", {}, "The link's key"), h("dd", { class: "offered" }, describeViewer(viewer))),
    h("div", { class: "choices" }, keep, h("button", { type: "button", class: "switch", onclick: change }, "Switch")),
  );
  showModal(dialog, keep);
}

function showModal(dialog, focus) {
  if (!dialog.isConnected || dialog.open) return;
  dialog.showModal();
  focus.focus(); // the safe choice; Escape also keeps the current key
}

/** A `#key=…` fragment followed in this open tab: taken off the address, then used or offered. */
function followKeyLink() {
  const key = takeKeyFromAddress();
  if (!key) return false;
  const current = sessionStorage.getItem(KEY);
  if (!current) {
    endSession();
    start(key);
  } else if (key !== current) offerSwitch(key);
  return true;
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

async function start(offered = takeKeyFromAddress()) {
  if (offered && !sessionStorage.getItem(KEY)) {
    sessionStorage.setItem(KEY, offered);
    sessionStorage.removeItem(VIEWER);
  }
  const key = sessionStorage.getItem(KEY);
  if (!key) return showSignIn();
  let viewer = JSON.parse(sessionStorage.getItem(VIEWER) || "null");
  if (!viewer) {
    try {
      viewer = await identify(key);
    } catch (error) {
      sessionStorage.removeItem(KEY);
      if (offered && offered !== key) return start(offered); // the stored key is refused: nothing to keep
      return showSignIn(error);
    }
  }
  const live = new Live(key, (state) => (liveState.textContent = LIVE_WORDS[state] || ""));
  session = { key, viewer, live };
  clear(who, ident(viewer.tenant.name), ` · ${viewer.role.toLowerCase()}`);
  who.title = `tenant ${viewer.tenant.tenantId}, acting as ${viewer.actorId}`;
  nav.hidden = signOutButton.hidden = false;
  route();
  if (offered && offered !== key) offerSwitch(offered);
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
// A fragment link in an open tab fires popstate, then hashchange: whichever comes first takes the key.
window.addEventListener("popstate", () => followKeyLink() || route());
window.addEventListener("hashchange", followKeyLink);
signOutButton.addEventListener("click", signOut);
start();
