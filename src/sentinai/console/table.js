// The exceptions table: filters from the URL, keyset paging, live rows from `exceptionChanges`.

import { badge, clear, errorBox, formatTime, h, ident, navLink, slaText, visible } from "./dom.js";
import { filterForm, filterFromParams } from "./filters.js";

const PAGE_SIZE = 25;
const ROW = `id exceptionId severity status type entity owner summary updatedAt sla { state remaining deadline }`;
const LIST = `query Exceptions($filter: ExceptionFilter, $orderBy: ExceptionOrder, $first: Int, $after: String) {
  exceptions(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { ${ROW} }
  }
}`;
const CHANGES = `subscription Changes($filter: ExceptionFilter, $after: String) {
  exceptionChanges(filter: $filter, after: $after) { position kind matchesFilter exception { ${ROW} } }
}`;
const COLUMNS = ["Exception", "Severity", "Status", "Type", "Entity", "Owner", "SLA", "Updated"];

function cells(row) {
  return [
    h("td", { "data-label": "Exception", class: "clip" }, navLink(`?view=exception&id=${encodeURIComponent(row.exceptionId)}`, ident(row.exceptionId), { title: row.summary || "" })),
    h("td", { "data-label": "Severity" }, badge("severity", row.severity)),
    h("td", { "data-label": "Status" }, badge("status", row.status)),
    clipped("Type", row.type),
    clipped("Entity", row.entity),
    clipped("Owner", row.owner),
    h("td", { "data-label": "SLA" }, badge("sla", row.sla.state), " ", h("span", { class: "muted" }, slaText(row.sla))),
    h("td", { "data-label": "Updated" }, h("time", { datetime: row.updatedAt }, formatTime(row.updatedAt))),
  ];
}

/** A cell for an identifier of any length: cut short with an ellipsis, in full on hover. */
function clipped(name, value) {
  return h("td", { "data-label": name, class: "clip", title: value ? visible(value) : null }, ident(value));
}

function rowElement(row) {
  return h("tr", { "data-id": row.exceptionId }, cells(row));
}

export function renderTable(ctx, params, root) {
  const filter = filterFromParams(params);
  const orderBy = params.get("order") || "NEWEST";
  const state = { cursors: [null], page: 0, count: 0, position: null, waiting: 0 };
  const body = h("tbody");
  const status = h("p", { class: "table-status", role: "status" }, "Loading…");
  const notice = h("p", { class: "live-notice", "aria-live": "polite" });
  const previous = h("button", { type: "button", disabled: true }, "← Previous");
  const next = h("button", { type: "button", disabled: true }, "Next →");
  const problems = h("div");
  const table = h(
    "table",
    { class: "exceptions" },
    h("caption", { class: "visually-hidden" }, "Exceptions"),
    h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", { scope: "col" }, c)))),
    body,
  );
  clear(
    root,
    h("h1", {}, "Exceptions"),
    filterForm(params, (chosen) => ctx.navigate(`?${chosen}`), { withOrder: true }),
    problems,
    h("div", { class: "table-head" }, status, notice),
    h("div", { class: "table-wrap" }, table),
    h("nav", { class: "pager", "aria-label": "Pages" }, previous, next),
  );

  async function load() {
    previous.disabled = next.disabled = true;
    try {
      const variables = { filter, orderBy, first: PAGE_SIZE, after: state.cursors[state.page] };
      const { exceptions } = await ctx.request(LIST, variables);
      clear(problems);
      clear(body, exceptions.nodes.map(rowElement));
      state.count = exceptions.totalCount;
      state.hasNext = exceptions.pageInfo.hasNextPage;
      state.cursors[state.page + 1] = exceptions.pageInfo.endCursor;
      showStatus();
      if (!exceptions.nodes.length) body.append(h("tr", {}, h("td", { colspan: COLUMNS.length }, "No exception matches.")));
      ctx.painted("table");
    } catch (error) {
      clear(problems, errorBox(error, "Could not load the exceptions:"));
      status.textContent = "";
    }
    previous.disabled = state.page === 0;
    next.disabled = !state.hasNext;
  }

  function showStatus() {
    const first = state.page * PAGE_SIZE + 1;
    const shown = body.querySelectorAll("tr[data-id]").length;
    status.textContent = shown ? `${state.count} exceptions · page ${state.page + 1} (from #${first})` : `${state.count} exceptions`;
  }

  function turn(step) {
    state.page += step;
    state.waiting = 0;
    notice.textContent = "";
    load().then(() => root.querySelector("h1").scrollIntoView({ block: "nearest" }));
  }
  previous.addEventListener("click", () => turn(-1));
  next.addEventListener("click", () => turn(1));

  // Live rows: a change to a row on this page updates it in place; a new exception is added at
  // the top only where it belongs (the first page of the newest-first ordering) — elsewhere the
  // reader is told and stays where they are. Rows never disappear under the reader's eyes.
  function changed({ exceptionChanges: change }) {
    state.position = change.position;
    const row = change.exception;
    const existing = body.querySelector(`tr[data-id="${CSS.escape(row.exceptionId)}"]`);
    if (existing) {
      existing.replaceChildren(...cells(row));
      existing.classList.toggle("left", !change.matchesFilter);
      existing.title = change.matchesFilter ? "" : "No longer matches this filter";
      flash(existing);
    } else if (change.matchesFilter && change.kind === "CREATED" && state.page === 0 && orderBy === "NEWEST") {
      const added = rowElement(row);
      body.querySelector("tr:not([data-id])")?.remove();
      body.prepend(added);
      state.count += 1;
      showStatus();
      flash(added);
    } else if (change.matchesFilter) {
      state.waiting += 1;
      clear(notice, `${state.waiting} new or changed elsewhere in this list `, h("button", { type: "button", class: "link", onclick: () => turn(-state.page) }, "Show from the top"));
    }
  }

  const stop = ctx.live.subscribe(CHANGES, () => ({ filter, after: state.position }), {
    next: changed,
    error: (error) => clear(problems, errorBox(error, "Live updates stopped:")),
  });
  load();
  return stop;
}

function flash(element) {
  element.classList.remove("fresh");
  void element.offsetWidth; // restart the animation
  element.classList.add("fresh");
}
