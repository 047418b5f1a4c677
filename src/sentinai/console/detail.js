// The detail view: attributes and SLA | the timeline, live | playbook, remediation plans, similar cases.
// Everything on first paint comes from ONE GraphQL request (DETAIL).

import { badge, clear, errorBox, formatDuration, formatTime, h, ident, isolate, jsonBlock, label, navLink, slaText, visible } from "./dom.js";
import { renderTimeline } from "./timeline.js";

const EVENT = "eventId eventType actorType actorId payload stateChange createdAt";
const PLAN = "planId rootCause confidence actionType riskLevel requiresApproval status proposedBy decidedBy decidedAt decisionNote outcomeNote createdAt";
const DETAIL = `query ExceptionDetail($exceptionId: String!) {
  exception(exceptionId: $exceptionId) {
    id exceptionId domain type severity status sourceSystem entity amount owner summary attributes
    rcaHypothesis createdAt updatedAt resolvedAt
    sla { state remaining deadline breachedAt }
    currentPlaybook { name version description steps { stepOrder name actionType tool { name type } } }
    currentStep { stepOrder name }
    events(first: 100) { totalCount pageInfo { hasNextPage } nodes { ${EVENT} } }
    remediationPlans { ${PLAN} }
    similar(first: 5) {
      score resolvedAt timeToResolve remediations
      reasons { kind detail contribution }
      exception { exceptionId summary status severity }
    }
  }
}`;
const TIMELINE = `subscription Timeline($exceptionId: String!, $after: String) {
  exceptionEvents(exceptionId: $exceptionId, after: $after) { position event { ${EVENT} } }
}`;
const DECIDE = (verb) => `mutation Decide($input: DecideRemediationPlanInput!) {
  ${verb}RemediationPlan(input: $input) {
    __typename
    ... on RemediationPlanSuccess { plan { ${PLAN} } }
    ... on MutationError { code message }
  }
}`;
const DECIDERS = new Set(["OPERATOR", "ADMIN"]);

export function renderDetail(ctx, params, root) {
  const exceptionId = params.get("id") || "";
  const left = h("section", { class: "panel", "aria-labelledby": "attributes-title" });
  const middle = h("section", { class: "panel timeline-panel", "aria-labelledby": "timeline-title" });
  const right = h("section", { class: "panel", "aria-labelledby": "playbook-title" });
  const heading = h("h1", { class: "clamp" }, ident(exceptionId));
  clear(root, h("p", { class: "crumbs" }, navLink(ctx.lastList(), "← Exceptions")), heading, h("div", { class: "detail" }, left, middle, right));
  left.append(h("p", { class: "muted" }, "Loading…"));
  let stop = () => {};
  let closed = false;

  ctx.request(DETAIL, { exceptionId }).then(
    ({ exception }) => {
      if (closed) return;
      if (!exception) {
        clear(root, h("h1", {}, ident(exceptionId)), errorBox({ message: `No exception ${visible(exceptionId)} in your tenant.` }));
        return;
      }
      // At most three lines (style.css): the whole summary is in the tooltip and the first event.
      clear(heading, ident(exception.exceptionId), " · ", isolate(exception.summary || exception.type));
      heading.title = visible(exception.summary || exception.type);
      document.title = `${visible(exception.exceptionId)} · SentinAI`;
      const view = { exception, ctx, left, middle, right };
      renderAttributes(view);
      const timeline = renderTimeline(middle, exception.events);
      renderRight(view);
      ctx.painted("detail");
      // From the first event (the API gives no position with the query's events): those already
      // shown are recognised by their eventId and skipped; later ones are added as they commit.
      let position = null;
      stop = ctx.live.subscribe(TIMELINE, () => ({ exceptionId, after: position }), {
        next: ({ exceptionEvents: change }) => {
          position = change.position;
          if (timeline.add(change.event)) applyStateChange(view, change.event);
        },
        error: (error) => middle.append(errorBox(error, "Live timeline stopped:")),
      });
    },
    (error) => clear(left, errorBox(error, `Could not load ${visible(exceptionId)}:`)),
  );
  return () => {
    closed = true;
    stop();
  };
}

function applyStateChange(view, event) {
  const change = event.stateChange || {};
  const exception = view.exception;
  if (!Object.keys(change).length) return;
  for (const field of ["status", "severity", "owner"]) if (field in change) exception[field] = change[field];
  if ("currentStep" in change && exception.currentPlaybook) {
    exception.currentStep = exception.currentPlaybook.steps.find((step) => step.stepOrder === change.currentStep) || null;
  }
  exception.updatedAt = event.createdAt;
  renderAttributes(view);
  renderRight(view);
}

function pair(term, ...value) {
  return [h("dt", {}, term), h("dd", {}, ...value)];
}

function renderAttributes({ exception, left }) {
  const sla = exception.sla;
  const extra = Object.entries(exception.attributes || {}).map(([k, v]) => pair(ident(k), v !== null && typeof v === "object" ? jsonBlock(v) : isolate(v)));
  clear(
    left,
    h("h2", { id: "attributes-title" }, "Attributes"),
    h(
      "dl",
      { class: "facts" },
      pair("Status", badge("status", exception.status)),
      pair("Severity", badge("severity", exception.severity)),
      pair("Domain", ident(exception.domain)),
      pair("Type", ident(exception.type)),
      pair("Entity", navLink(`?view=exceptions&entity=${encodeURIComponent(exception.entity)}`, ident(exception.entity))),
      pair("Source", ident(exception.sourceSystem)),
      pair("Amount", exception.amount ?? "—"),
      pair("Owner", exception.owner ? ident(exception.owner) : "unassigned"),
      pair("Created", formatTime(exception.createdAt)),
      pair("Updated", formatTime(exception.updatedAt)),
      exception.resolvedAt && pair("Resolved", formatTime(exception.resolvedAt)),
      exception.rcaHypothesis && pair("Root cause", isolate(exception.rcaHypothesis)),
    ),
    h("h3", {}, "SLA"),
    h(
      "dl",
      { class: "facts sla" },
      pair("State", badge("sla", sla.state)),
      pair("Deadline", formatTime(sla.deadline)),
      pair("Remaining", slaText(sla)),
      sla.breachedAt && pair("Breached", formatTime(sla.breachedAt)),
    ),
    extra.length ? [h("h3", {}, "Source attributes"), h("dl", { class: "facts" }, extra)] : null,
  );
}

function renderRight(view) {
  const { exception, right } = view;
  clear(right, playbook(exception), plans(view), similar(exception));
}

function playbook(exception) {
  const book = exception.currentPlaybook;
  const current = exception.currentStep ? exception.currentStep.stepOrder : null;
  const title = h("h2", { id: "playbook-title" }, "Playbook");
  if (!book) return [title, h("p", { class: "muted" }, "No playbook attached.")];
  const steps = book.steps.map((step) => {
    const where = current === null ? "" : step.stepOrder < current ? "done" : step.stepOrder === current ? "current" : "";
    return h(
      "li",
      { class: `step ${where}`, "aria-current": where === "current" ? "step" : null },
      h("span", { class: "step-name" }, isolate(step.name)),
      h("span", { class: "muted" }, " ", ident(step.actionType), step.tool ? [" via ", ident(step.tool.name)] : null),
      where === "current" && h("span", { class: "badge current-step" }, "current"),
    );
  });
  return [title, h("p", {}, h("strong", {}, isolate(book.name)), ` v${book.version}`), h("ol", { class: "steps" }, steps)];
}

function plans(view) {
  const list = view.exception.remediationPlans;
  const section = h("div", { class: "plans" }, h("h2", {}, "Remediation plans"));
  if (!list.length) section.append(h("p", { class: "muted" }, "No plan proposed."));
  for (const plan of list) section.append(planCard(view, plan));
  return section;
}

function planCard(view, plan) {
  const card = h(
    "article",
    { class: "plan", "data-plan": plan.planId },
    h("header", {}, h("strong", {}, `Plan ${plan.planId}: `, ident(plan.actionType)), " ", badge("plan", plan.status)),
    h("p", {}, isolate(plan.rootCause)),
    h(
      "p",
      { class: "muted" },
      `confidence ${Math.round(plan.confidence * 100)} % · risk ${label(plan.riskLevel)} · proposed by `,
      ident(plan.proposedBy),
      plan.decidedBy ? [" · decided by ", ident(plan.decidedBy)] : "",
    ),
    plan.decisionNote && h("p", { class: "note" }, "“", isolate(plan.decisionNote), "”"),
  );
  if (plan.status === "PENDING" && DECIDERS.has(view.ctx.viewer.role)) card.append(decision(view, plan, card));
  return card;
}

function decision(view, plan, card) {
  const note = h("input", { type: "text", name: "note", placeholder: "Note (optional)", "aria-label": `Note for plan ${plan.planId}` });
  const outcome = h("div", { role: "status" });
  const act = (verb) => async () => {
    for (const button of card.querySelectorAll("button")) button.disabled = true;
    try {
      const data = await view.ctx.request(DECIDE(verb), { input: { planId: plan.planId, note: note.value || null } });
      const result = data[`${verb}RemediationPlan`];
      if (result.__typename !== "RemediationPlanSuccess") throw { message: `${result.message} (${result.code})` };
      const index = view.exception.remediationPlans.findIndex((p) => p.planId === plan.planId);
      view.exception.remediationPlans[index] = result.plan;
      card.replaceWith(planCard(view, result.plan));
    } catch (error) {
      clear(outcome, errorBox(error, "Not decided:"));
      for (const button of card.querySelectorAll("button")) button.disabled = false;
    }
  };
  return h(
    "div",
    { class: "decide" },
    note,
    h("button", { type: "button", class: "approve", onclick: act("approve") }, "Approve"),
    h("button", { type: "button", class: "reject", onclick: act("reject") }, "Reject"),
    outcome,
  );
}

function similar(exception) {
  const items = exception.similar.map((item) =>
    h(
      "li",
      {},
      navLink(`?view=exception&id=${encodeURIComponent(item.exception.exceptionId)}`, ident(item.exception.exceptionId)),
      " ",
      badge("status", item.exception.status),
      h("span", { class: "muted" }, ` score ${item.score.toFixed(2)}`),
      item.timeToResolve !== null && h("span", { class: "muted" }, ` · resolved in ${formatDuration(item.timeToResolve)}`),
      item.remediations.length ? h("span", { class: "muted" }, " · fixed by ", item.remediations.map((r, i) => [i ? ", " : "", ident(r)])) : null,
      h("ul", { class: "reasons" }, item.reasons.map((r) => h("li", {}, `${label(r.kind)}: `, isolate(r.detail)))),
    ),
  );
  return [h("h2", {}, "Similar cases"), items.length ? h("ul", { class: "similar" }, items) : h("p", { class: "muted" }, "None found.")];
}
