// The exceptions filter, read from and written to the URL so a view can be shared and reloaded.

import { h, label } from "./dom.js";

export const STATUSES = ["OPEN", "ANALYZING", "ESCALATED", "RESOLVED"];
export const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
export const SLA_STATES = ["BREACHED", "AT_RISK", "ON_TRACK", "MET", "NONE"];
export const ORDERS = ["NEWEST", "OLDEST", "SLA_DEADLINE", "SEVERITY"];

// URL parameter → [ExceptionFilter field, kind]. Lists are comma-separated in the URL.
const FIELDS = {
  status: ["status", "list"],
  severity: ["severity", "list"],
  sla: ["slaState", "list"],
  domain: ["domain", "text"],
  type: ["type", "text"],
  owner: ["owner", "text"],
  entity: ["entity", "text"],
  from: ["createdFrom", "text"],
  to: ["createdTo", "text"],
};
export const FILTER_PARAMS = Object.keys(FIELDS);

/** The `ExceptionFilter` the URL's parameters describe (null when they describe none). */
export function filterFromParams(params) {
  const filter = {};
  for (const [param, [field, kind]] of Object.entries(FIELDS)) {
    const value = (params.get(param) || "").trim();
    if (!value) continue;
    filter[field] = kind === "list" ? value.split(",").filter(Boolean) : value;
  }
  return Object.keys(filter).length ? filter : null;
}

/** Only the filter's own parameters, for links that keep the filter (and add to it). */
export function filterParams(params, changes = {}) {
  const kept = new URLSearchParams();
  for (const name of FILTER_PARAMS) if (params.get(name)) kept.set(name, params.get(name));
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === "") kept.delete(name);
    else kept.set(name, value);
  }
  return kept;
}

function choice(name, text, options, params, multi) {
  const current = params.get(name) || "";
  const values = options.map((value) => h("option", { value, selected: current === value }, label(value)));
  if (current && !options.includes(current)) values.push(h("option", { value: current, selected: true }, current));
  return h(
    "label",
    { class: "field" },
    h("span", {}, text),
    h("select", { name, "data-multi": multi }, h("option", { value: "" }, "Any"), values),
  );
}

function text(name, caption, params, placeholder) {
  return h(
    "label",
    { class: "field" },
    h("span", {}, caption),
    h("input", { name, type: "search", value: params.get(name) || "", placeholder, autocomplete: "off" }),
  );
}

/**
 * The filter bar. `apply(params)` gets the new URL parameters when a choice changes or the form
 * is submitted (Enter in a text field). `withOrder` adds the ordering select.
 */
export function filterForm(params, apply, { withOrder = false } = {}) {
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter exceptions" },
    choice("status", "Status", STATUSES, params),
    choice("severity", "Severity", SEVERITIES, params),
    choice("sla", "SLA", SLA_STATES, params),
    text("domain", "Domain", params, "Finance"),
    text("type", "Type", params, "SettlementFailure"),
    text("owner", "Owner", params, "ops-analyst"),
    withOrder && choice("order", "Order", ORDERS, params),
    h("button", { type: "submit" }, "Apply"),
    h("button", { type: "reset" }, "Clear"),
  );
  const submit = () => {
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (String(value).trim()) next.set(name, String(value).trim());
    for (const name of ["from", "to", "entity"]) if (params.get(name)) next.set(name, params.get(name));
    apply(next);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  form.addEventListener("change", (event) => {
    if (event.target.tagName === "SELECT") submit();
  });
  form.addEventListener("reset", (event) => {
    event.preventDefault();
    apply(new URLSearchParams());
  });
  return form;
}
