// The timeline: events grouped by actor, each kind told apart (agent decisions, Co-Pilot
// questions and answers, workflow changes, comments), payloads shown as readable fields.

import { clear, formatTime, h, ident, isolate, jsonBlock, visible } from "./dom.js";

const KINDS = {
  decision: ["TriageCompleted", "PolicyEvaluated", "LLMDecisionProposed", "ResolutionSuggested", "RemediationPlanProposed"],
  question: ["CopilotQuestionAsked"],
  answer: ["CopilotAnswerGiven"],
  comment: ["CommentAdded", "FeedbackCaptured"],
};
const KIND_LABELS = { decision: "Decision", question: "Co-Pilot question", answer: "Co-Pilot answer", comment: "Note", workflow: "Workflow" };
// The field that says it all, shown as the event's main line.
const HEADLINES = { CopilotQuestionAsked: "question", CopilotAnswerGiven: "answer", CommentAdded: "text", LLMDecisionProposed: "decision", PolicyEvaluated: "decision", ResolutionSuggested: "summary" };

export function kindOf(eventType) {
  for (const [kind, types] of Object.entries(KINDS)) if (types.includes(eventType)) return kind;
  return "workflow";
}

function words(eventType) {
  return eventType.replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2").replace(/([a-z])([A-Z])/g, "$1 $2");
}

/** A payload value, isolated: a share as a percentage too, an object as laid-out JSON. In a
 * state change (`inline`) every value is an identifier (a status, an owner, a step). */
function value(v, inline = false) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number" && v > 0 && v <= 1 && !Number.isInteger(v)) return `${v} (${Math.round(v * 100)} %)`;
  if (inline) return ident(typeof v === "object" ? JSON.stringify(v) : v);
  return typeof v === "object" ? jsonBlock(v) : isolate(v);
}

function fields(object, skip) {
  const entries = Object.entries(object || {}).filter(([k]) => k !== skip);
  if (!entries.length) return null;
  return h("dl", { class: "payload" }, entries.map(([k, v]) => [h("dt", {}, ident(k)), h("dd", {}, value(v))]));
}

function changed(changes) {
  return Object.entries(changes).map(([k, v], i) => [i ? ", " : "", ident(k), " → ", value(v, true)]);
}

function entry(event) {
  const kind = kindOf(event.eventType);
  const headline = HEADLINES[event.eventType];
  const changes = event.stateChange && Object.keys(event.stateChange).length ? event.stateChange : null;
  return h(
    "li",
    { class: `event kind-${kind}`, "data-event": event.eventId, "data-type": event.eventType },
    h(
      "div",
      { class: "event-head" },
      h("span", { class: `kind kind-${kind}` }, KIND_LABELS[kind]),
      h("strong", {}, ident(words(event.eventType))),
      h("time", { datetime: event.createdAt }, formatTime(event.createdAt)),
    ),
    headline && event.payload && event.payload[headline] !== undefined && h("p", { class: "headline" }, value(event.payload[headline])),
    fields(event.payload, headline),
    changes && h("p", { class: "changes" }, "Changed: ", changed(changes)),
  );
}

function actorOf(event) {
  return `${event.actorType}:${event.actorId || ""}`;
}

function group(event) {
  const who = event.actorId || event.actorType.toLowerCase();
  return h(
    "li",
    { class: `group actor-${event.actorType.toLowerCase()}`, "data-actor": actorOf(event) },
    h("div", { class: "actor" }, h("span", { class: "avatar", "aria-hidden": "true" }, visible(who).charAt(0).toUpperCase()), h("strong", {}, ident(who)), h("span", { class: "muted" }, ` ${event.actorType.toLowerCase()}`)),
    h("ol", { class: "events" }),
  );
}

/** Renders the query's events; `add(event)` appends one that is not shown yet (true when added). */
export function renderTimeline(container, connection) {
  const list = h("ol", { class: "timeline", "aria-live": "polite", "aria-relevant": "additions" });
  const seen = new Set();
  const count = h("span", { class: "muted" });
  clear(container, h("h2", { id: "timeline-title" }, "Timeline ", count), list);

  function add(event, fresh = true) {
    if (seen.has(event.eventId)) return false;
    seen.add(event.eventId);
    let last = list.lastElementChild;
    if (!last || last.dataset.actor !== actorOf(event)) list.append((last = group(event)));
    const item = entry(event);
    if (fresh) item.classList.add("fresh");
    last.querySelector(".events").append(item);
    count.textContent = `(${seen.size})`;
    return true;
  }
  for (const event of connection.nodes) add(event, false);
  if (!connection.nodes.length) list.append(h("li", { class: "muted empty" }, "No events yet."));
  return {
    add(event) {
      list.querySelector(".empty")?.remove();
      return add(event);
    },
  };
}
