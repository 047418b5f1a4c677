// Small DOM helpers: elements from data (never HTML strings), formatting, error boxes.

import { describeError } from "./api.js";

export function h(tag, attributes, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

export function s(tag, attributes, ...children) {
  return fill(document.createElementNS("http://www.w3.org/2000/svg", tag), attributes, children);
}

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.setAttribute("class", value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** An in-page link: the router handles the click, the browser handles the rest (new tab, copy). */
export function navLink(href, text, attributes = {}) {
  return h("a", { href, "data-nav": true, ...attributes }, text);
}

// Bidirectional controls: marks, embeddings, overrides and isolates (U+061C, U+200E-F, U+202A-E,
// U+2066-9). In data they could reorder what a reader sees ("\u202eytitne" shows as "entity").
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The text with every bidi control written out as ⟨U+202E⟩, so none acts unseen. */
export function visible(value) {
  return String(value).replace(BIDI_CONTROLS, (c) => `⟨U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}⟩`);
}

/** Free text from data (a summary, a note, a payload value): isolated, so whatever its direction
 * it cannot reorder the text around it. */
export function isolate(value) {
  return h("bdi", {}, value === null || value === undefined ? "—" : String(value));
}

/** An identifier from data (an id, an entity, an owner, a key): isolated, bidi controls visible. */
export function ident(value) {
  return h("bdi", { class: "ident" }, value === null || value === undefined ? "—" : visible(value));
}

/** A JSON value from data: indented, wrapped (never wider than its column), bidi controls
 * visible (JSON.stringify leaves them as they are). A block, so nothing around it is reordered. */
export function jsonBlock(value) {
  return h("pre", { class: "json", dir: "ltr" }, visible(JSON.stringify(value, null, 2)));
}

export function errorBox(error, prefix = "") {
  const messages = error && error.errors ? error.errors.map(describeError) : [String((error && error.message) || error)];
  return h("div", { class: "error", role: "alert" }, prefix && h("strong", {}, prefix, " "), messages.map((m) => h("p", {}, m)));
}

export function formatTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const abs = Math.abs(Math.round(seconds));
  const days = Math.floor(abs / 86400);
  const hours = Math.floor((abs % 86400) / 3600);
  const minutes = Math.floor((abs % 3600) / 60);
  if (days) return `${days}d ${hours}h`;
  if (hours) return `${hours}h ${minutes}m`;
  return `${minutes}m`;
}

/** "3h 12m left", "overdue 2d 4h", or the state alone when no time applies. */
export function slaText(sla) {
  if (!sla || sla.remaining === null || sla.remaining === undefined) return label(sla ? sla.state : "NONE");
  const remaining = Number(sla.remaining);
  return remaining < 0 ? `overdue ${formatDuration(remaining)}` : `${formatDuration(remaining)} left`;
}

export function label(constant) {
  return constant ? constant.charAt(0) + constant.slice(1).toLowerCase().replaceAll("_", " ") : "—";
}

export function badge(kind, value) {
  return h("span", { class: `badge ${kind}-${String(value).toLowerCase()}` }, label(value));
}

export function clear(element, ...children) {
  element.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}
