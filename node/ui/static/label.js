// Labeling one task: one item at a time, a large button per class, keyboard shortcuts,
// every label saved to the node as soon as it is given.
//
// Keys: 1–9 pick a class (multi-label: toggle, Enter saves), ← or Ctrl+Z goes back to the
// previous item to change its label (undo), → skips, ↑/↓ move between the class buttons.
// Tasks of the kinds boxes, spans, text and pairwise are answered in their kind's editor
// (editors.js), which sees each key first and keeps the ones it uses.
// Labels that could not be saved stay in an outbox in localStorage and are retried, so a
// reload or a dropped connection loses nothing; the node's database is the progress count.

import { ApiError, api, token } from "./api.js";
import { duration, h, mount, progressBar, toast, tokens } from "./dom.js";
import { Outbox } from "./outbox.js";
import { editorFor } from "./editors.js";

const BATCH = 40;
const HISTORY_LIMIT = 100;

export async function labelingView(container, taskId, session) {
  const view = await api.labelingView(taskId);
  const state = {
    view,
    queue: [],
    current: null,
    history: loadHistory(taskId),
    revisiting: null, // the item we left when going back (undo)
    relabel: false, // the current item came from the history: its label is being changed
    done: view.progress.done, // counted here too: the node's count lags the saves in flight
    labelled: new Set(),
    given: new Map(), // item id -> the value given on this page
    exhausted: false,
    selected: new Set(),
    saving: 0,
    blocked: 0, // 403 (no seat) or 409 (not dealt yet) from a seated task
  };
  // boxes, spans, text, pairwise: an editor of the kind draws the item and its answer.
  const editor = editorFor(view, (value) => save(value));
  const ui = layout(view, editor);
  mount(container, ui.root);
  if (!session) {
    ui.notice.replaceChildren(h("p", { class: "warning", role: "alert" }, "Sign in with the node's API token (above) to save labels."));
  }
  // A gated task: this account's reputation in its domain, as the gate counts it.
  api.reputation(taskId).then((r) => renderReputation(ui, r), () => {});

  const outbox = new Outbox(taskId, (status) => setSaveState(ui, status), () => refreshProgress());
  for (const itemId of outbox.items()) {
    // Labelled before a reload or a lost connection, not on the node yet.
    if (!state.labelled.has(itemId)) state.done += 1;
    state.labelled.add(itemId);
  }

  async function refreshProgress() {
    try {
      state.view.progress = await api.progress(taskId);
      state.done = Math.max(state.done, state.view.progress.done);
      renderProgress(ui, state.view.progress, state.done);
    } catch (error) {
      /* the next save or tick tries again */
    }
  }

  async function fill() {
    if (state.exhausted || state.queue.length >= 10) return;
    let items;
    try {
      items = await api.nextItems(taskId, BATCH);
    } catch (error) {
      // A seated task: no seat (403), or the seat's items are not dealt yet (409).
      if (error instanceof ApiError && (error.status === 403 || error.status === 409)) {
        state.exhausted = true;
        state.blocked = error.status;
        return;
      }
      throw error;
    }
    const known = new Set(state.queue.map((item) => item.item_id));
    if (state.current) known.add(state.current.item_id);
    const fresh = items.filter((item) => !known.has(item.item_id) && !state.labelled.has(item.item_id) && !outbox.has(item.item_id));
    state.queue.push(...fresh);
    if (items.length < BATCH) state.exhausted = true;
  }

  let filling = null;
  function refill() {
    // One request for more items at a time; labelling goes on from the queue meanwhile.
    filling ??= fill()
      .then(() => true)
      .catch((error) => {
        toast(`Could not load more items: ${error.message}`);
        return false;
      })
      .finally(() => {
        filling = null;
      });
    return filling;
  }

  async function advance() {
    state.relabel = false;
    state.selected = new Set();
    if (state.revisiting) {
      state.current = state.revisiting;
      state.revisiting = null;
    } else {
      // The next item is taken before anything is awaited: a key pressed while more items
      // load must find no current item, not the one just labelled (it would be labelled
      // again, and the item after it skipped).
      state.current = state.queue.shift() || null;
      if (!state.current && !state.exhausted) {
        renderLoading(ui);
        const loaded = await refill();
        if (state.current) return; // went back (undo) while the items loaded
        state.current = state.queue.shift() || null;
        if (!loaded && !state.current) {
          renderLoadFailed(ui, advance);
          return;
        }
      }
    }
    show(null);
    if (state.queue.length < 10) refill();
  }

  function show(value) {
    const item = state.current;
    if (!item) {
      if (state.blocked) renderBlocked(ui, state.blocked);
      else renderDone(ui, state.view, taskId);
      return;
    }
    const total = state.view.progress.total;
    const title = state.relabel ? "Changing an earlier label" : `Item ${Math.min(state.done + 1, total)} of ${total}`;
    renderItem(ui, item, title, editor, state.view.sealed ? taskId : null);
    if (editor) editor.show(ui.itemBody, ui.answer, item, value ?? null);
    state.selected = new Set(Array.isArray(value) ? value : value === null || value === undefined ? [] : [value]);
    const focusWasOnAnswer = ui.answer.contains(document.activeElement);
    if (!editor) renderAnswer(ui, state.view, state.selected, value, choose, submitSelection, submitNumber);
    // A keyboard user who answered with a focused button keeps the focus in the answers.
    if (focusWasOnAnswer) ui.answer.querySelector("button.choice")?.focus();
    ui.back.disabled = state.history.length === 0 || Boolean(state.view.progress.commit_state);
  }

  function choose(value) {
    if (state.view.kind === "multilabel") {
      if (state.selected.has(value)) state.selected.delete(value);
      else state.selected.add(value);
      renderAnswer(ui, state.view, state.selected, null, choose, submitSelection, submitNumber);
      return;
    }
    save(value);
  }

  function submitSelection() {
    save([...state.selected].sort());
  }

  function submitNumber(raw) {
    const value = Number(raw);
    if (raw === "" || !Number.isFinite(value)) {
      toast("Enter a number");
      return;
    }
    save(value);
  }

  function save(value) {
    const item = state.current;
    if (!item || !token.get()) {
      if (!token.get()) toast("Sign in with the API token to save labels");
      return;
    }
    if (!state.relabel && !state.labelled.has(item.item_id)) state.done += 1;
    state.labelled.add(item.item_id);
    state.given.set(item.item_id, value);
    state.history.push(item.item_id);
    state.history = state.history.slice(-HISTORY_LIMIT);
    storeHistory(taskId, state.history);
    outbox.add(item.item_id, value);
    flash(ui, value);
    renderProgress(ui, state.view.progress, state.done);
    advance();
  }

  async function undo() {
    const previous = state.history.pop();
    if (previous === undefined) {
      toast("Nothing to undo");
      return;
    }
    storeHistory(taskId, state.history);
    // What this page gave is the latest value; the node may not have stored it yet.
    const local = state.given.has(previous) ? state.given.get(previous) : outbox.value(previous);
    const answer = await api.itemLabel(taskId, previous);
    if (state.current && !state.revisiting) state.revisiting = state.current;
    else if (state.current) state.queue.unshift(state.current);
    state.current = answer.item;
    state.relabel = true;
    show(local !== undefined ? local : answer.value);
    toast(`Back to ${previous}: choose its label again`);
  }

  function skip() {
    if (!state.current) return;
    if (!state.revisiting) state.queue.push(state.current);
    advance();
  }

  function onKey(event) {
    if (!ui.root.isConnected) return; // the person moved on before this view finished loading
    if (event.defaultPrevented || event.altKey || event.metaKey) return;
    if (editor && state.current && editor.onKey(event)) return;
    const typing = (event.target instanceof HTMLInputElement && event.target.type !== "checkbox") || event.target instanceof HTMLTextAreaElement;
    if (!typing && ((event.ctrlKey && event.key.toLowerCase() === "z") || event.key === "ArrowLeft" || event.key === "Backspace")) {
      event.preventDefault();
      undo();
      return;
    }
    if (event.ctrlKey || typing || !state.current) return;
    if (event.key === "ArrowRight") {
      event.preventDefault();
      skip();
    } else if (/^[1-9]$/.test(event.key) && state.view.kind !== "numeric") {
      const value = state.view.classes[Number(event.key) - 1];
      if (value !== undefined) {
        event.preventDefault();
        choose(value);
      }
    } else if (event.key === "Enter" && state.view.kind === "multilabel" && !(event.target instanceof HTMLButtonElement)) {
      event.preventDefault();
      submitSelection();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const buttons = [...ui.answer.querySelectorAll("button.choice")];
      if (!buttons.length) return;
      event.preventDefault();
      const at = buttons.indexOf(document.activeElement);
      const step = event.key === "ArrowDown" ? 1 : -1;
      buttons[(at + step + buttons.length) % buttons.length].focus();
    }
  }

  ui.back.addEventListener("click", undo);
  ui.skip.addEventListener("click", skip);
  document.addEventListener("keydown", onKey);
  renderProgress(ui, view.progress);
  const timer = setInterval(() => {
    refreshProgress();
    outbox.flush();
  }, 3000);
  outbox.flush();
  await advance();
  return () => {
    clearInterval(timer);
    document.removeEventListener("keydown", onKey);
  };
}

function renderReputation(ui, r) {
  if (!r.gated) return;
  const share = r.accuracy === null ? "nothing answered yet" : `${(r.accuracy * 100).toFixed(1)}% accepted`;
  ui.reputation.replaceChildren(
    "Your reputation in ",
    h("strong", { class: "reputation-domain" }, r.domain || "no domain"),
    ": ",
    h("span", { class: "reputation-accepted" }, String(r.accepted)),
    " accepted of ",
    h("span", { class: "reputation-answered" }, String(r.answered)),
    ` answered (${share}) over ${r.tasks} ${r.tasks === 1 ? "task" : "tasks"}. Admission: ${r.rule}.`,
  );
}

function layout(view, editor) {
  const root = h("section", { class: "labeling", "aria-labelledby": "task-title" });
  const ui = {
    root,
    notice: h("div", {}),
    progressText: h("p", { class: "progress-text", id: "progress-text" }),
    progressSlot: h("div", {}),
    deadline: h("p", { class: "muted small" }),
    reputation: h("p", { class: "muted small reputation", id: "reputation", "aria-live": "polite" }),
    itemTitle: h("h2", { id: "item-title", class: "item-title" }),
    itemBody: h("div", { class: "item-body", "aria-live": "polite" }),
    answer: h("div", { class: "answer" }),
    back: h("button", { type: "button", class: "button", "aria-keyshortcuts": "ArrowLeft Control+Z" }, "← Back", h("span", { class: "wide-only" }, " (undo)")),
    skip: h("button", { type: "button", class: "button", "aria-keyshortcuts": "ArrowRight" }, "Skip →"),
    saveState: h("p", { class: "save-state", role: "status", "aria-live": "polite" }, "All changes saved"),
  };
  const instructions = h("div", { class: "instructions-body" });
  instructions.innerHTML = view.instructions_html; // rendered by the node: escaped, then a safe subset
  root.append(
    h(
      "div",
      { class: "labeling-head" },
      h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Tasks"), " / ", `Task #${view.task_id}`),
      h("h1", { id: "task-title" }, view.title),
      h("p", { class: "muted small" }, h("span", { class: `badge kind-${view.kind}` }, view.kind), ` ${tokens(view.reward_per_label)} per accepted label`),
      ui.reputation,
    ),
    ui.notice,
    h("div", { class: "progress-row" }, ui.progressText, ui.progressSlot, ui.deadline),
    h(
      "div",
      { class: "labeling-grid" },
      h("article", { class: "card item-card", "aria-labelledby": "item-title" }, ui.itemTitle, ui.itemBody, ui.answer, h("div", { class: "item-controls" }, ui.back, ui.saveState, ui.skip)),
      h(
        "aside",
        { class: "card instructions", "aria-labelledby": "instructions-title" },
        h("h2", { id: "instructions-title" }, "Instructions"),
        view.instructions_html ? instructions : h("p", { class: "muted" }, "The requester gave no instructions."),
        h(
          "dl",
          { class: "shortcuts", "aria-label": "Keyboard shortcuts" },
          editor ? editor.shortcuts.flat() : h("dt", {}, h("kbd", {}, "1"), "–", h("kbd", {}, "9")),
          editor ? null : h("dd", {}, view.kind === "multilabel" ? "toggle a class, Enter to save" : view.kind === "numeric" ? "type the value, Enter to save" : "choose a class"),
          h("dt", {}, h("kbd", {}, "←"), " ", h("kbd", {}, "Ctrl Z")),
          h("dd", {}, "back to the previous item (undo)"),
          h("dt", {}, h("kbd", {}, "→")),
          h("dd", {}, "skip for now"),
          editor ? null : h("dt", {}, h("kbd", {}, "↑"), " ", h("kbd", {}, "↓")),
          editor ? null : h("dd", {}, "move between classes"),
        ),
      ),
    ),
  );
  return ui;
}

function renderProgress(ui, progress, localDone) {
  const done = Math.max(progress.done, localDone ?? 0);
  ui.progressText.textContent = `${done} / ${progress.total} labelled`;
  mount(ui.progressSlot, progressBar(done, progress.total, "Labeling progress"));
  ui.deadline.textContent =
    progress.seconds_to_commit_deadline > 0
      ? `${duration(progress.seconds_to_commit_deadline)} left to the commit deadline`
      : "The commit window has closed";
  const commit = document.getElementById("commit-state");
  if (commit) commit.textContent = commitText(progress);
  if (progress.commit_state) {
    // Committed: the node refuses label changes, so there is nothing to go back to.
    ui.back.disabled = true;
    ui.back.title = "Your labels are committed on chain";
  }
}

let sealedUrl = null; // the blob: URL of the sealed image shown, revoked when it goes

function renderItem(ui, item, title, editor, sealedTask) {
  ui.itemTitle.textContent = title;
  if (sealedUrl) URL.revokeObjectURL(sealedUrl);
  sealedUrl = null;
  const id = h("p", { class: "item-id muted small" }, `id ${item.item_id}`);
  if (editor?.drawsItem) return mount(ui.itemBody, id); // boxes, spans, pairwise
  const parts = [id];
  if (item.content_cid) {
    const alt = describe(item) || `Image item ${item.item_id}`;
    if (sealedTask === null) parts.push(h("img", { class: "item-image", src: `/ipfs/${item.content_cid}`, alt }));
    else parts.push(sealedImage(sealedTask, item, alt));
  }
  const text = describe(item);
  if (text) parts.push(h("p", { class: "item-text" }, text));
  else if (item.data !== null && item.data !== undefined && !item.content_cid) parts.push(h("pre", { class: "item-json" }, JSON.stringify(item.data, null, 2)));
  mount(ui.itemBody, ...parts);
}

// A confidential task's image: /ipfs/CID would be ciphertext, so the node opens it (behind
// the API token) and the page shows the bytes through a blob: URL (allowed by img-src).
function sealedImage(taskId, item, alt) {
  const img = h("img", { class: "item-image", alt });
  api.media(taskId, item.item_id).then(
    (blob) => {
      if (!img.isConnected) return; // the page moved on to another item
      sealedUrl = URL.createObjectURL(blob);
      img.src = sealedUrl;
    },
    (error) => img.replaceWith(h("p", { class: "error" }, `Cannot open this item's media: ${error.message}`)),
  );
  return img;
}

function describe(item) {
  const data = item.data;
  if (typeof data === "string") return data;
  if (data && typeof data === "object" && typeof data.text === "string") return data.text;
  return "";
}

function renderAnswer(ui, view, selected, current, choose, submitSelection, submitNumber) {
  if (view.kind === "numeric") {
    const input = h("input", { id: "numeric-value", type: "number", step: "any", inputmode: "decimal", value: current ?? "" });
    const form = h(
      "form",
      { class: "numeric-form", onsubmit: (event) => { event.preventDefault(); submitNumber(input.value); } },
      h("label", { for: "numeric-value" }, "Value"),
      input,
      h("button", { type: "submit", class: "button primary" }, "Save (Enter)"),
    );
    mount(ui.answer, form);
    input.focus();
    return;
  }
  const multi = view.kind === "multilabel";
  const buttons = view.classes.map((name, index) => {
    const shortcut = index < 9 ? String(index + 1) : null;
    return h(
      "button",
      {
        type: "button",
        class: "choice",
        "aria-pressed": selected.has(name) ? "true" : "false",
        "aria-keyshortcuts": shortcut,
        onclick: () => choose(name),
      },
      shortcut ? h("kbd", { "aria-hidden": "true" }, shortcut) : null,
      h("span", { class: "choice-name" }, name),
    );
  });
  const group = h("div", { class: "choices", role: "group", "aria-label": multi ? "Classes (choose all that apply)" : "Classes" }, buttons);
  mount(ui.answer, group, multi ? h("button", { type: "button", class: "button primary save-multi", onclick: submitSelection }, "Save selection (Enter)") : null);
}

function renderLoading(ui) {
  ui.itemTitle.textContent = "Loading items…";
  mount(ui.itemBody, h("p", { class: "muted", role: "status" }, "Fetching the next items from your node."));
  mount(ui.answer);
}

function renderLoadFailed(ui, retry) {
  ui.itemTitle.textContent = "Could not load items";
  mount(ui.itemBody, h("p", { class: "error", role: "alert" }, "Your node did not answer. Your labels so far are kept."));
  mount(ui.answer, h("button", { type: "button", class: "button primary", onclick: () => retry() }, "Try again"));
}

function renderBlocked(ui, status) {
  const [title, text] =
    status === 409
      ? ["Items not dealt yet", "This task deals each seat its own batch of items once the seat window has closed and the block that seeds the deal is final. Your node holds a seat: reload this page in a minute or two."]
      : ["No seat for you on this task", "This task has a fixed number of seats, each dealt a batch of items, and your node holds none of them (every seat was taken, or the seat window closed before your node joined). There is nothing for you to label here."];
  ui.itemTitle.textContent = title;
  mount(ui.itemBody, h("div", { class: "done", role: "status" }, h("p", {}, text)));
  mount(ui.answer, h("a", { class: "button primary", href: "#/" }, "Back to tasks"));
  ui.skip.disabled = true;
}

function renderDone(ui, view, taskId) {
  ui.itemTitle.textContent = "All items labelled";
  mount(
    ui.itemBody,
    h("div", { class: "done" }, h("p", { class: "done-mark", "aria-hidden": "true" }, "✓"), h("p", {}, "Every item of this task has your label. Your node commits them on chain by itself; you can close this page."), h("p", { class: "muted", id: "commit-state" }, commitText(view.progress))),
  );
  mount(ui.answer, h("a", { class: "button", href: `#/requester/${taskId}` }, "Task status"), " ", h("a", { class: "button primary", href: "#/" }, "Back to tasks"));
  ui.skip.disabled = true;
}

function commitText(progress) {
  const state = progress.commit_state;
  if (!state) return "Waiting for the node to commit…";
  return { pending: "Commit sent, waiting for the chain…", committed: "Committed on chain.", revealed: "Revealed on chain." }[state] || state;
}

function flash(ui, value) {
  const marks = Array.isArray(value) && value.some(Array.isArray); // boxes, spans
  const name = marks ? `${value.length} marked` : Array.isArray(value) ? value.join(", ") : String(value);
  ui.saveState.textContent = `Saving “${name}”…`;
}

function setSaveState(ui, status) {
  ui.saveState.textContent = status;
}

function loadHistory(taskId) {
  try {
    return JSON.parse(sessionStorage.getItem(`labelnet.history.${taskId}`) || "[]");
  } catch {
    return [];
  }
}

function storeHistory(taskId, history) {
  sessionStorage.setItem(`labelnet.history.${taskId}`, JSON.stringify(history));
}
