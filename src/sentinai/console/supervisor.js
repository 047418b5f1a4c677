// The supervisor view: `exceptionStats` in one request, every number a link to the filtered table.

import { clear, errorBox, formatDuration, h, ident, label, navLink, s, visible } from "./dom.js";
import { SEVERITIES, STATUSES, filterForm, filterFromParams, filterParams } from "./filters.js";

const STATS = `query Supervisor($filter: ExceptionFilter) {
  total: exceptionStats(filter: $filter) { count openCount slaAtRiskCount slaBreachedCount meanTimeToResolve }
  matrix: exceptionStats(filter: $filter, groupBy: [SEVERITY, STATUS]) { key { severity status } count }
  byType: exceptionStats(filter: $filter, groupBy: [TYPE]) { key { type } count openCount meanTimeToResolve p90TimeToResolve }
  trend: exceptionStats(filter: $filter, bucket: DAY) { key { bucketStart } count }
}`;
const OPEN = STATUSES.filter((status) => status !== "RESOLVED").join(",");

export function renderSupervisor(ctx, params, root) {
  const filter = filterFromParams(params);
  const body = h("div", { class: "supervisor" }, h("p", { class: "muted" }, "Loading…"));
  clear(root, h("h1", {}, "Supervisor"), filterForm(params, (chosen) => ctx.navigate(`?view=supervisor&${chosen}`)), body);
  // A link to the table with this view's filter plus `changes`.
  const to = (changes) => `?view=exceptions&${filterParams(params, changes)}`;
  let closed = false;
  ctx.request(STATS, { filter }).then(
    (stats) => {
      if (closed) return;
      const [total] = stats.total;
      clear(body, tiles(total, to), matrix(stats.matrix, to), byType(stats.byType, to), trend(stats.trend, to));
      ctx.painted("supervisor");
    },
    (error) => clear(body, errorBox(error, "Could not load the statistics:")),
  );
  return () => {
    closed = true;
  };
}

function tile(caption, number, href, tone = "") {
  return h("li", { class: `tile ${tone}` }, navLink(href, h("span", { class: "number", "data-stat": caption }, number), { "aria-label": `${number} ${caption}` }), h("span", {}, caption));
}

function tiles(total, to) {
  return h(
    "ul",
    { class: "tiles", "aria-label": "Totals" },
    tile("exceptions", total.count, to({})),
    tile("open", total.openCount, to({ status: OPEN })),
    tile("SLA at risk", total.slaAtRiskCount, to({ sla: "AT_RISK" }), "warn"),
    tile("SLA breached", total.slaBreachedCount, to({ sla: "BREACHED" }), "bad"),
    h("li", { class: "tile" }, h("span", { class: "number" }, formatDuration(total.meanTimeToResolve)), h("span", {}, "mean time to resolve")),
  );
}

function matrix(groups, to) {
  const count = (severity, status) =>
    groups.filter((g) => (!severity || g.key.severity === severity) && (!status || g.key.status === status)).reduce((n, g) => n + g.count, 0);
  const cell = (severity, status) => {
    const n = count(severity, status);
    const changes = { ...(severity && { severity }), ...(status && { status }) };
    return h("td", { "data-severity": severity || "", "data-status": status || "" }, n ? navLink(to(changes), n, { "aria-label": `${n} ${label(severity || "all")} ${label(status || "any status")}` }) : h("span", { class: "muted" }, "0"));
  };
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "By severity and status"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "matrix" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Severity"), STATUSES.map((st) => h("th", { scope: "col" }, label(st))), h("th", { scope: "col" }, "All"))),
        h(
          "tbody",
          {},
          SEVERITIES.map((sev) => h("tr", {}, h("th", { scope: "row" }, label(sev)), STATUSES.map((st) => cell(sev, st)), cell(sev, null))),
          h("tr", { class: "totals" }, h("th", { scope: "row" }, "All"), STATUSES.map((st) => cell(null, st)), cell(null, null)),
        ),
      ),
    ),
  );
}

function byType(groups, to) {
  const rows = [...groups].sort((a, b) => b.count - a.count);
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Time to resolve by type"),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "by-type" },
        h("thead", {}, h("tr", {}, ["Type", "Exceptions", "Open", "Mean", "p90"].map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          rows.map((g) =>
            h(
              "tr",
              { "data-type": g.key.type },
              h("th", { scope: "row", class: "clip", title: visible(g.key.type) }, ident(g.key.type)),
              h("td", {}, navLink(to({ type: g.key.type }), g.count)),
              h("td", {}, navLink(to({ type: g.key.type, status: OPEN }), g.openCount)),
              h("td", {}, formatDuration(g.meanTimeToResolve)),
              h("td", {}, formatDuration(g.p90TimeToResolve)),
            ),
          ),
        ),
      ),
    ),
  );
}

const DAY = 86400000;

function trend(groups, to) {
  const days = groups.filter((g) => g.key.bucketStart).map((g) => ({ start: new Date(g.key.bucketStart), count: g.count })).sort((a, b) => a.start - b.start);
  const section = h("section", { class: "card" }, h("h2", {}, "New exceptions by day"));
  if (!days.length) {
    section.append(h("p", { class: "muted" }, "No exceptions."));
    return section;
  }
  const width = 640, height = 180, pad = 24;
  const max = Math.max(...days.map((d) => d.count));
  const span = Math.max(1, Math.round((days[days.length - 1].start - days[0].start) / DAY) + 1);
  const slot = Math.min(48, (width - pad * 2) / span);
  const bars = days.map((d) => {
    const x = pad + (Math.round((d.start - days[0].start) / DAY)) * slot;
    const barHeight = Math.max(1, ((height - pad * 2) * d.count) / max);
    const day = d.start.toISOString().slice(0, 10);
    const until = new Date(d.start.getTime() + DAY).toISOString();
    return s(
      "a",
      { href: to({ from: d.start.toISOString(), to: until }), "data-nav": true, "aria-label": `${d.count} created on ${day}` },
      s("title", {}, `${day}: ${d.count}`),
      s("rect", { x: x + 1, y: height - pad - barHeight, width: Math.max(2, slot - 2), height: barHeight, class: "bar" }),
    );
  });
  const first = days[0].start.toISOString().slice(0, 10);
  const last = days[days.length - 1].start.toISOString().slice(0, 10);
  section.append(
    s(
      "svg",
      { viewBox: `0 0 ${width} ${height}`, class: "trend", role: "img", "aria-label": `Exceptions created per day from ${first} to ${last}, at most ${max} a day` },
      s("line", { x1: pad, y1: height - pad, x2: pad + slot * span, y2: height - pad, class: "axis" }),
      s("text", { x: pad, y: height - 6, class: "tick" }, first),
      span > 1 && s("text", { x: pad + slot * span, y: height - 6, class: "tick end" }, last),
      s("text", { x: pad, y: pad - 8, class: "tick" }, `max ${max}/day`),
      bars,
    ),
  );
  return section;
}
