// The requester's view: every task the node follows, and one task's status and, once it
// is final, its attested result: consensus labels, each annotator's quality as charts, and
// export buttons.

import { api, exportUrl } from "./api.js";
import { dateTime, h, mount, percent, scrolling, shortAddress, tokens } from "./dom.js";

export async function requesterView(container) {
  const tasks = await api.tasks();
  mount(
    container,
    h("div", { class: "page-head" }, h("h1", {}, "Requester"), h("p", { class: "muted" }, "Every task this node follows on chain, newest first.")),
    tasks.length
      ? scrolling(
          "Tasks",
          "table",
          { class: "table" },
          h("caption", {}, "Tasks"),
          h("thead", {}, h("tr", {}, ["Task", "Status", "Items", "Labels per item", "Commit deadline", ""].map((name) => h("th", { scope: "col" }, name)))),
          h(
            "tbody",
            {},
            [...tasks].reverse().map((task) =>
              h(
                "tr",
                {},
                h("td", {}, `#${task.task_id}`),
                h("td", {}, h("span", { class: `badge status-${task.status}` }, task.status)),
                h("td", {}, task.num_items),
                h("td", {}, task.redundancy),
                h("td", {}, dateTime(task.commit_deadline)),
                h("td", {}, h("a", { class: "button small", href: `#/requester/${task.task_id}`, "aria-label": `Details of task ${task.task_id}` }, "Details")),
              ),
            ),
          ),
        )
      : h("div", { class: "card empty" }, h("p", { class: "muted" }, "No tasks on chain yet. Post one with ", h("code", {}, "labelnet task create"), ".")),
  );
}

export async function reportView(container, taskId) {
  const report = await api.report(taskId);
  const now = Date.now() / 1000;
  const phases = [
    ["Commit", report.commit_deadline, `${report.commits} committed`],
    ["Reveal", report.reveal_deadline, `${report.reveals} revealed`],
    ["Attest", report.attest_deadline, `${report.attestations} attestations`],
  ];
  const timeline = h(
    "ol",
    { class: "timeline", "aria-label": "Task phases" },
    phases.map(([name, deadline, count]) => {
      const passed = report.final || now > deadline;
      return h("li", { class: passed ? "passed" : "" }, h("strong", {}, name), h("span", { class: "muted small" }, `until ${dateTime(deadline)}`), h("span", {}, count));
    }),
    h("li", { class: report.final ? "passed" : "" }, h("strong", {}, "Final"), h("span", { class: "muted small" }, report.status), h("span", {}, report.total_payout ? `${tokens(report.total_payout)} paid` : "—")),
  );
  mount(
    container,
    h(
      "div",
      { class: "page-head" },
      h("p", { class: "crumbs" }, h("a", { href: "#/requester" }, "Requester"), " / ", `Task #${taskId}`),
      h("h1", {}, report.title),
      h("p", { class: "muted" }, h("span", { class: `badge status-${report.status}` }, report.status), ` ${report.num_items} items × ${report.redundancy} labels each`),
    ),
    h("section", { class: "card", "aria-labelledby": "phases-title" }, h("h2", { id: "phases-title" }, "Progress"), timeline),
    report.final ? results(report, taskId) : h("div", { class: "card empty" }, h("p", { class: "muted" }, "Results appear here once validators have attested and the task is finalized.")),
  );
}

function results(report, taskId) {
  const exports = h(
    "div",
    { class: "exports", role: "group", "aria-label": "Export results" },
    [["jsonl", "JSONL"], ["csv", "CSV"], ["labelstudio", "Label Studio"]].map(([format, name]) =>
      h("a", { class: "button", href: exportUrl(taskId, format), download: "" }, `Export ${name}`),
    ),
  );
  return h(
    "div",
    { class: "results" },
    h(
      "section",
      { class: "card", "aria-labelledby": "results-title" },
      h("div", { class: "section-head" }, h("h2", { id: "results-title" }, "Results"), exports),
      h("p", { class: "muted small" }, "Result document ", h("code", { class: "cid" }, report.result_cid), ", verified against the finalized payout root."),
      h("h3", {}, "Consensus labels by class"),
      barChart(
        Object.entries(report.class_counts).map(([name, count]) => [name, count]),
        (value) => String(value),
        "Items per consensus class",
      ),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "annotators-title" },
      h("h2", { id: "annotators-title" }, "Annotators"),
      h("h3", {}, "Estimated accuracy"),
      barChart(report.annotators.map((a) => [shortAddress(a.account), Number(a.accuracy)]), percent, "Accuracy per annotator", 1),
      h("h3", {}, "Confusion matrices"),
      confusions(report),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "items-title" },
      h("h2", { id: "items-title" }, "Consensus labels"),
      scrolling(
        "Consensus labels",
        "table",
        { class: "table compact" },
        h("caption", { class: "muted small" }, report.items_total > report.items.length ? `First ${report.items.length} of ${report.items_total} items (exports hold all)` : `${report.items_total} items`),
        h("thead", {}, h("tr", {}, ["Item", "Content", "Consensus", "Confidence", ""].map((name) => h("th", { scope: "col" }, name)))),
        h(
          "tbody",
          {},
          report.items.map((item) =>
            h(
              "tr",
              {},
              h("td", { class: "muted" }, item.item),
              h("td", { class: "content-cell" }, item.content_cid ? h("img", { class: "thumb", src: `/ipfs/${item.content_cid}`, alt: `Item ${item.item}`, loading: "lazy" }) : item.text ?? "—"),
              h("td", {}, h("span", { class: "badge" }, Array.isArray(item.value) ? item.value.join(", ") : String(item.value))),
              h("td", {}, percent(item.confidence)),
              h("td", { class: "muted small" }, [item.gold ? "gold" : "", item.confident ? "" : "uncertain"].filter(Boolean).join(" · ")),
            ),
          ),
        ),
      ),
    ),
  );
}

// A horizontal bar chart: real text at every width (an SVG would shrink its labels on a
// phone); the numbers are also in its accessible name, the bars are its picture.
function barChart(rows, format, title, maximum) {
  const top = Math.max(maximum ?? 0, ...rows.map(([, value]) => value), 1e-9);
  return h(
    "div",
    { class: "bars", role: "img", "aria-label": `${title}: ${rows.map(([name, value]) => `${name} ${format(value)}`).join(", ")}` },
    rows.map(([name, value]) => {
      const fill = h("span", { class: "bar-fill" });
      fill.style.width = `${Math.max(0.5, (100 * value) / top)}%`;
      return h("div", { class: "bar-row", "aria-hidden": "true" }, h("span", { class: "bar-label" }, name), h("span", { class: "bar-track" }, fill), h("span", { class: "bar-value" }, format(value)));
    }),
  );
}

// Why the reward rule paid an annotator or not: their skill, their evidence of it.
function qualityNote(annotator) {
  const parts = [];
  if (annotator.skill != null) parts.push(`skill ${Number(annotator.skill).toFixed(2)}`);
  if (annotator.evidence != null) parts.push(`evidence ${Number(annotator.evidence).toFixed(2)}σ`);
  if (annotator.bloc) parts.push("answers coordinated with a bloc");
  if (!annotator.eligible) parts.push("not eligible for pay");
  return parts.map((part) => ` · ${part}`).join("");
}

// Every annotator's confusion matrix; the report leaves them out past a few dozen classes.
function confusions(report) {
  const tables = report.annotators.filter((a) => a.confusion);
  if (!tables.length) {
    return h("p", { class: "muted small" }, "Not drawn for this task: its result lists each annotator's filled cells, and the exports carry every label.");
  }
  return [
    h("p", { class: "muted small" }, "Rows: the consensus class. Columns: the annotator's label. The diagonal is agreement."),
    h("div", { class: "confusions" }, tables.map((a) => confusion(a, report.classes))),
  ];
}

// One annotator's confusion matrix (rows: consensus class, columns: their label), shaded.
function confusion(annotator, classes) {
  const matrix = annotator.confusion;
  const largest = Math.max(1, ...matrix.flat());
  const table = h(
    "table",
    { class: "confusion" },
    h("caption", {}, h("strong", {}, shortAddress(annotator.account)), ` · accuracy ${percent(annotator.accuracy)}${qualityNote(annotator)} · ${annotator.accepted}/${annotator.labels} accepted · ${tokens(annotator.payout)}`),
    h("thead", {}, h("tr", {}, h("td", {}), classes.map((name) => h("th", { scope: "col" }, name)))),
    h(
      "tbody",
      {},
      matrix.map((row, i) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, classes[i] ?? i),
          row.map((count, j) => {
            const cell = h("td", { class: i === j ? "diagonal" : "" }, count);
            cell.style.setProperty("--weight", String(count / largest));
            return cell;
          }),
        ),
      ),
    ),
  );
  return h("figure", { class: "confusion-figure" }, table);
}
