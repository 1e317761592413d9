// The labeling page: a hash router over its views (tasks, labeling, review, earnings, requester).

import { ApiError, adoptTokenFromFragment, api, token } from "./api.js";
import { duration, h, mount, progressBar, scrolling, shortAddress, tokens } from "./dom.js";
import { labelingView } from "./label.js";
import { reportView, requesterView } from "./requester.js";
import { reviewListView, reviewView } from "./review.js";

const main = () => document.getElementById("main");
let leaveView = () => {};
let session = null;
let navigation = 0; // counts route() calls: a view that finishes loading late sees it moved on

// Views marked private show this node's labels and progress, which the node serves only
// with its API token (they are secret until committed): without one the page asks for it
// instead of sending requests the node would refuse.
const routes = [
  [/^#\/task\/(\d+)$/, (m, view) => labelingView(view, Number(m[1]), session), { private: true }],
  [/^#\/review$/, (m, view) => reviewListView(view), { private: true }],
  [/^#\/review\/(\d+)$/, (m, view) => reviewView(view, Number(m[1])), { private: true }],
  [/^#\/earnings$/, (m, view) => earningsView(view)],
  [/^#\/requester$/, (m, view) => requesterView(view)],
  [/^#\/requester\/(\d+)$/, (m, view) => reportView(view, Number(m[1]))],
  [/^/, (m, view) => tasksView(view), { private: true }],
];

async function route() {
  leaveView();
  leaveView = () => {};
  const hash = location.hash || "#/";
  for (const link of document.querySelectorAll("[data-nav]")) {
    const section = ["requester", "earnings", "review"].find((name) => hash.startsWith(`#/${name}`)) || "tasks";
    if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  for (const [pattern, view, options = {}] of routes) {
    const match = pattern.exec(hash);
    if (!match) continue;
    if (options.private && !token.get()) {
      showSignIn();
      return;
    }
    // Each view draws into its own element. What a view still draws after the person has
    // moved on (a refresh in flight, a first load that came back late) lands in an element
    // no longer on the page, and its clean-up runs as soon as it returns.
    const current = ++navigation;
    const container = h("div", { class: "view" });
    mount(main(), container);
    try {
      const leave = (await view(match, container)) || (() => {});
      if (current === navigation) leaveView = leave;
      else leave();
    } catch (error) {
      if (current === navigation) showError(error);
    }
    return;
  }
}

function showSignIn() {
  mount(
    main(),
    h(
      "section",
      { class: "card empty", "aria-labelledby": "sign-in-title" },
      h("h1", { id: "sign-in-title" }, "Sign in to see your tasks"),
      h("p", { class: "muted" }, "Your labels and progress stay private until your node commits them: the node shows them only with its API token (above)."),
    ),
  );
}

export function showError(error) {
  if (error instanceof ApiError && error.status === 401) {
    // The token was refused (a new data directory, say): ask for it again.
    token.clear();
    checkSession();
    showSignIn();
    return;
  }
  const detail = error instanceof ApiError ? error.message : String(error);
  mount(main(), h("section", { class: "card empty", role: "alert" }, h("h1", {}, "Something went wrong"), h("p", {}, detail)));
}

async function checkSession() {
  const banner = document.getElementById("banner");
  const account = document.getElementById("account");
  if (!token.get()) {
    session = null;
    mount(banner, tokenBanner("This page has no API token yet, so it cannot show or save your labels."));
    account.textContent = "Not signed in";
    return;
  }
  try {
    session = await api.session();
    banner.replaceChildren();
    account.textContent = session.account ? `Account ${shortAddress(session.account)}` : `Read-only ${session.role} node`;
    account.title = session.account || "";
  } catch (error) {
    session = null;
    if (error instanceof ApiError && error.status === 401) {
      token.clear();
      mount(banner, tokenBanner("The API token this page had was refused by the node."));
      account.textContent = "Not signed in";
    } else {
      account.textContent = "Node unreachable";
    }
  }
}

function tokenBanner(problem) {
  const input = h("input", { id: "token-input", type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const form = h(
    "form",
    {
      class: "token-form",
      onsubmit: async (event) => {
        event.preventDefault();
        token.set(input.value);
        await checkSession();
        route();
      },
    },
    h("label", { for: "token-input" }, "API token"),
    input,
    h("button", { type: "submit", class: "button primary" }, "Use token"),
  );
  return h(
    "section",
    { class: "banner", "aria-labelledby": "token-title" },
    h("h2", { id: "token-title" }, "Sign in to your node"),
    h("p", {}, problem, " Open the link ", h("code", {}, "labelnet node start"), " printed (", h("code", {}, "http://127.0.0.1:7420/ui/#token=…"), "), or paste the token from the file ", h("code", {}, "api-token"), " in the node's data directory."),
    form,
  );
}

async function tasksView(container) {
  let shown = "";
  const refresh = async () => {
    const cards = await api.taskCards();
    const key = JSON.stringify(cards.map(({ seconds_to_commit_deadline, ...card }) => card));
    if (key !== shown) renderTasks(container, cards);
    shown = key;
  };
  await refresh();
  // New tasks appear as the node joins them; progress moves as labels arrive elsewhere.
  const timer = setInterval(() => refresh().catch(() => {}), 5000);
  return () => clearInterval(timer);
}

function renderTasks(container, cards) {
  // A joined card with a reason is a confidential task whose key is not wrapped to this node
  // (yet): it has no items to label, and the reason says so ("not admitted").
  const joined = cards.filter((card) => card.participation === "joined" && !card.reason);
  const others = cards.filter((card) => !joined.includes(card));
  mount(
    container,
    h("div", { class: "page-head" }, h("h1", {}, "Your tasks"), h("p", { class: "muted" }, "Tasks this node has joined. Pick one to start labeling.")),
    joined.length
      ? h("ul", { class: "task-grid", "aria-label": "Joined tasks" }, joined.map(taskCard))
      : h("div", { class: "card empty" }, h("h2", {}, "No tasks yet"), h("p", { class: "muted" }, "Your node joins open tasks as they are posted on chain; they appear here once their items are loaded.")),
    others.length
      ? h("section", { class: "others", "aria-labelledby": "others-title" }, h("h2", { id: "others-title" }, "Not joined"), h("ul", { class: "plain-list" }, others.map((card) => h("li", {}, h("strong", {}, card.title), ` — ${card.participation}: ${card.reason}`))))
      : null,
  );
}

function taskCard(card) {
  const complete = card.done >= card.num_items;
  const open = card.status === "open" && card.seconds_to_commit_deadline > 0;
  const state = card.commit_state ? `commit ${card.commit_state}` : complete ? "complete" : open ? `${duration(card.seconds_to_commit_deadline)} left` : card.status;
  return h(
    "li",
    { class: "card task-card" },
    h("div", { class: "task-card-head" }, h("h2", {}, card.title), h("span", { class: `badge kind-${card.kind}` }, card.kind)),
    h("p", { class: "muted small" }, `Task #${card.task_id} · ${tokens(card.reward_per_label)} per accepted label`),
    progressBar(card.done, card.num_items, `Progress on ${card.title}`),
    h("p", { class: "task-card-foot" }, h("span", {}, `${card.done} / ${card.num_items} labelled`), h("span", { class: "muted" }, state)),
    open && !card.commit_state
      ? h("a", { class: "button primary", href: `#/task/${card.task_id}`, "aria-label": `${complete ? "Review" : "Label"} ${card.title}` }, complete ? "Review" : card.done ? "Continue labeling" : "Start labeling")
      : h("a", { class: "button", href: `#/requester/${card.task_id}`, "aria-label": `Status of ${card.title}` }, "View status"),
  );
}

async function earningsView(container) {
  const earnings = await api.earnings();
  const stat = (title, amount, hint, tone) =>
    h("div", { class: `card stat ${tone}` }, h("h2", {}, title), h("p", { class: "stat-value" }, tokens(amount)), h("p", { class: "muted small" }, hint));
  mount(
    container,
    h("div", { class: "page-head" }, h("h1", {}, "Earnings"), h("p", { class: "muted" }, `Account ${earnings.account}`)),
    h(
      "div",
      { class: "stats", role: "list" },
      [
        stat("Pending", earnings.pending, "Paid once validators settle the task", "tone-pending"),
        stat("Claimable", earnings.claimable, "Settled: claim with a Merkle proof", "tone-claimable"),
        stat("Claimed", earnings.claimed, "Already in your wallet", "tone-claimed"),
      ].map((card) => {
        card.setAttribute("role", "listitem");
        return card;
      }),
    ),
    earnings.payouts.length
      ? scrolling(
          "Payouts by task",
          "table",
          { class: "table" },
          h("caption", {}, "Payouts by task"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Task"), h("th", { scope: "col" }, "Amount"), h("th", { scope: "col" }, "State"))),
          h("tbody", {}, earnings.payouts.map((p) => h("tr", {}, h("td", {}, `#${p.task_id}`), h("td", {}, tokens(p.amount)), h("td", {}, p.claimed ? "claimed" : p.proof ? "claimable" : "pending")))),
        )
      : h("div", { class: "card empty" }, h("p", { class: "muted" }, "No payouts yet. Rewards appear here when a task you labelled is finalized.")),
  );
}

function start() {
  adoptTokenFromFragment();
  document.getElementById("skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    main().focus();
  });
  window.addEventListener("hashchange", route);
  checkSession().then(route);
}

start();
