// Reviewing a task (issue #17): the contested items of a reviewed task, one at a time, with
// the task's instructions, the labels annotators gave (revealed on chain already, so
// nothing here can be copied), the current consensus, and a vote per item.
//
// Keys: 1–9 or a class's first letter vote (when no two classes share it), → or j next,
// ← or k previous. Every vote is stored by the node before it answers; the reviewer duty
// commits to the votes later, so they can be changed until then.

import { ApiError, api } from "./api.js";
import { h, mount, progressBar, shortAddress, toast } from "./dom.js";

export async function reviewListView(container) {
  const tasks = await api.reviewTasks();
  mount(
    container,
    h("div", { class: "page-head" }, h("h1", {}, "Review"), h("p", { class: "muted" }, "Tasks with a review round: once their reveal window has closed, vote on the items the annotators left contested.")),
    tasks.length
      ? h("ul", { class: "task-grid", "aria-label": "Reviewed tasks" }, tasks.map(reviewCard))
      : h("div", { class: "card empty" }, h("h2", {}, "No reviewed tasks"), h("p", { class: "muted" }, "Tasks whose manifest asks for a review round appear here.")),
  );
}

function reviewCard(task) {
  const open = task.seconds_to_reveal_deadline === 0;
  return h(
    "li",
    { class: "card task-card" },
    h("div", { class: "task-card-head" }, h("h2", {}, task.title), h("span", { class: "badge" }, "review")),
    h("p", { class: "muted small" }, `Task #${task.task_id} · ${task.num_items} items · ${task.classes.join(", ")}`),
    h("p", { class: "task-card-foot" }, h("span", {}, `${task.voted} voted`), h("span", { class: "muted" }, open ? "reveal closed" : "reveal window open")),
    h("a", { class: "button primary", href: `#/review/${task.task_id}`, "aria-label": `Review ${task.title}` }, task.voted ? "Continue review" : "Start review"),
  );
}

/** The letter shortcuts: a class's first letter, for the letters no other class starts with. */
function letterKeys(classes) {
  const counts = new Map();
  for (const name of classes) counts.set(name[0].toLowerCase(), (counts.get(name[0].toLowerCase()) || 0) + 1);
  const keys = new Map();
  classes.forEach((name) => {
    const letter = name[0].toLowerCase();
    if (counts.get(letter) === 1 && letter !== "j" && letter !== "k" && /[a-z]/.test(letter)) keys.set(letter, name);
  });
  return keys;
}

export async function reviewView(container, taskId) {
  let view;
  try {
    view = await api.reviewView(taskId);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 409)) {
      renderRefusal(container, taskId, error);
      return;
    }
    throw error;
  }
  const letters = letterKeys(view.classes);
  const state = { index: Math.max(0, view.items.findIndex((item) => !item.vote)), voted: view.progress.voted };
  if (state.index < 0 || !view.items.some((item) => !item.vote)) state.index = 0;
  const ui = layout(view, letters);
  mount(container, ui.root);

  function show() {
    const item = view.items[state.index];
    renderProgress(ui, state.voted, view.progress.total);
    if (!item) {
      ui.itemTitle.textContent = "Nothing contested";
      mount(ui.itemBody, h("p", { class: "muted" }, "The consensus left no item of this task contested: there is nothing to review."));
      ui.answer.replaceChildren();
      return;
    }
    ui.itemTitle.textContent = `Contested item ${state.index + 1} of ${view.items.length}`;
    renderItem(ui, item);
    renderVotes(ui, view.classes, item.vote, letters, vote);
    ui.prev.disabled = state.index === 0;
    ui.next.disabled = state.index === view.items.length - 1;
    for (const [n, chip] of ui.chips.entries()) {
      chip.setAttribute("aria-current", n === state.index ? "true" : "false");
      chip.classList.toggle("voted", Boolean(view.items[n].vote));
    }
  }

  function move(step) {
    const next = state.index + step;
    if (next < 0 || next >= view.items.length) return;
    state.index = next;
    show();
  }

  async function vote(value) {
    const item = view.items[state.index];
    if (!item) return;
    ui.saveState.textContent = `Saving “${value}”…`;
    try {
      const progress = await api.vote(taskId, item.item_id, value);
      item.vote = value;
      state.voted = progress.voted;
      ui.saveState.textContent = "Vote saved";
    } catch (error) {
      ui.saveState.textContent = "Not saved";
      toast(error instanceof ApiError ? error.message : String(error));
      return;
    }
    if (state.index < view.items.length - 1) move(1);
    else show();
    if (state.voted === view.progress.total) ui.saveState.textContent = "Every contested item has your vote";
  }

  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.metaKey || event.ctrlKey) return;
    if (event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
    const key = event.key;
    if (key === "ArrowRight" || key === "j") {
      event.preventDefault();
      move(1);
    } else if (key === "ArrowLeft" || key === "k") {
      event.preventDefault();
      move(-1);
    } else if (/^[1-9]$/.test(key) && view.classes[Number(key) - 1] !== undefined) {
      event.preventDefault();
      vote(view.classes[Number(key) - 1]);
    } else if (letters.has(key.toLowerCase())) {
      event.preventDefault();
      vote(letters.get(key.toLowerCase()));
    }
  }

  ui.prev.addEventListener("click", () => move(-1));
  ui.next.addEventListener("click", () => move(1));
  ui.chips.forEach((chip, n) => chip.addEventListener("click", () => { state.index = n; show(); }));
  document.addEventListener("keydown", onKey);
  show();
  return () => document.removeEventListener("keydown", onKey);
}

function renderRefusal(container, taskId, error) {
  const title = error.status === 404 ? "No review for this task" : "Not ready for review";
  mount(
    container,
    h("section", { class: "card empty", role: "status" }, h("h1", {}, title), h("p", {}, error.message), h("p", { class: "muted" }, error.status === 409 ? "The contested set exists only once the reveal window has closed and this node has read every revealed batch. Reload in a minute." : ""), h("a", { class: "button", href: "#/review" }, "Back to review")),
  );
}

function layout(view, letters) {
  const root = h("section", { class: "labeling review", "aria-labelledby": "task-title" });
  const ui = {
    root,
    progressText: h("p", { class: "progress-text", id: "review-progress" }),
    progressSlot: h("div", {}),
    itemTitle: h("h2", { id: "item-title", class: "item-title" }),
    itemBody: h("div", { class: "item-body", "aria-live": "polite" }),
    answer: h("div", { class: "answer" }),
    prev: h("button", { type: "button", class: "button", "aria-keyshortcuts": "ArrowLeft K" }, "← Previous"),
    next: h("button", { type: "button", class: "button", "aria-keyshortcuts": "ArrowRight J" }, "Next →"),
    saveState: h("p", { class: "save-state", role: "status", "aria-live": "polite" }, ""),
    chips: view.items.map((item, n) => h("button", { type: "button", class: "chip", "aria-label": `Go to contested item ${item.item_id}` }, String(n + 1))),
  };
  const instructions = h("div", { class: "instructions-body" });
  instructions.innerHTML = view.instructions_html; // rendered by the node: escaped, then a safe subset
  const letterHelp = [...letters.entries()].map(([key, name]) => `${key.toUpperCase()} = ${name}`).join(", ");
  root.append(
    h(
      "div",
      { class: "labeling-head" },
      h("p", { class: "crumbs" }, h("a", { href: "#/review" }, "Review"), " / ", `Task #${view.task_id}`),
      h("h1", { id: "task-title" }, view.title),
      h("p", { class: "muted small" }, `${view.items.length} contested of ${view.consensus_items} items · ${view.batches_used} revealed batches`),
    ),
    h("div", { class: "progress-row" }, ui.progressText, ui.progressSlot),
    h("nav", { class: "chips", "aria-label": "Contested items" }, ui.chips),
    h(
      "div",
      { class: "labeling-grid" },
      h("article", { class: "card item-card", "aria-labelledby": "item-title" }, ui.itemTitle, ui.itemBody, ui.answer, h("div", { class: "item-controls" }, ui.prev, ui.saveState, ui.next)),
      h(
        "aside",
        { class: "card instructions", "aria-labelledby": "instructions-title" },
        h("h2", { id: "instructions-title" }, "Instructions"),
        view.instructions_html ? instructions : h("p", { class: "muted" }, "The requester gave no instructions."),
        h(
          "dl",
          { class: "shortcuts", "aria-label": "Keyboard shortcuts" },
          h("dt", {}, h("kbd", {}, "1"), "–", h("kbd", {}, String(Math.min(9, view.classes.length)))),
          h("dd", {}, letterHelp ? `vote for a class (or its letter: ${letterHelp})` : "vote for a class"),
          h("dt", {}, h("kbd", {}, "→"), " ", h("kbd", {}, "j")),
          h("dd", {}, "next item"),
          h("dt", {}, h("kbd", {}, "←"), " ", h("kbd", {}, "k")),
          h("dd", {}, "previous item"),
        ),
      ),
    ),
  );
  return ui;
}

function renderProgress(ui, voted, total) {
  ui.progressText.textContent = `${voted} / ${total} voted`;
  mount(ui.progressSlot, progressBar(voted, total, "Review progress"));
}

function renderItem(ui, item) {
  const parts = [h("p", { class: "item-id muted small" }, `id ${item.item_id}`)];
  const text = typeof item.data === "string" ? item.data : item.data && typeof item.data.text === "string" ? item.data.text : "";
  if (item.content_cid) parts.push(h("img", { class: "item-image", src: `/ipfs/${item.content_cid}`, alt: text || `Image item ${item.item_id}` }));
  if (text) parts.push(h("p", { class: "item-text" }, text));
  else if (item.data !== null && item.data !== undefined) parts.push(h("pre", { class: "item-json" }, JSON.stringify(item.data, null, 2)));
  const total = item.labels.reduce((sum, label) => sum + label.count, 0);
  parts.push(
    h(
      "section",
      { class: "revealed", "aria-labelledby": "revealed-title" },
      h("h3", { id: "revealed-title" }, "Labels the annotators gave (revealed)"),
      h(
        "ul",
        { class: "revealed-list", "aria-label": "Revealed labels" },
        item.labels.map((label) =>
          h(
            "li",
            { class: "revealed-row" },
            h("span", { class: "revealed-class" }, label.value),
            h("span", { class: "revealed-count" }, `${label.count} of ${total}`),
            h("span", { class: "revealed-who muted small", title: label.annotators.join(" ") }, label.annotators.map(shortAddress).join(", ")),
          ),
        ),
      ),
      h("p", { class: "muted small consensus" }, `Current consensus: ${item.consensus} (posterior ${Number(item.posterior).toFixed(2)})`),
    ),
  );
  mount(ui.itemBody, ...parts);
}

function renderVotes(ui, classes, current, letters, vote) {
  const letterOf = new Map([...letters.entries()].map(([key, name]) => [name, key]));
  const buttons = classes.map((name, index) => {
    const shortcut = index < 9 ? String(index + 1) : null;
    const keys = [shortcut, letterOf.get(name)?.toUpperCase()].filter(Boolean).join(" ");
    return h(
      "button",
      { type: "button", class: "choice", "aria-pressed": current === name ? "true" : "false", "aria-keyshortcuts": keys || null, onclick: () => vote(name) },
      shortcut ? h("kbd", { "aria-hidden": "true" }, shortcut) : null,
      h("span", { class: "choice-name" }, name),
    );
  });
  mount(ui.answer, h("div", { class: "choices", role: "group", "aria-label": "Your vote" }, buttons));
}
