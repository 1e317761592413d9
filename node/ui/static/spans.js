// The spans editor: select part of the item's text (mouse, or Shift + arrows) and press a
// class's number key to mark it; marked spans are highlighted in their class's colour and
// listed, each removable. Offsets are code points (the protocol's count), converted from
// the browser's UTF-16 units by canonical.js, so an emoji counts as one character.
//
// Keys: Shift+←/→ extend the selection (Ctrl: by word), ←/→ move the caret while the text
// has the focus, 1–9 mark the selection, Delete removes the spans under the selection or
// caret, Enter saves.

import { canonicalEntries, cpOffset, unitOffset } from "./canonical.js";
import { h, mount, toast } from "./dom.js";
import { classButtons, colorOf, keyRow } from "./editkit.js";

export function spansEditor(view, save) {
  const classes = view.classes;
  let cls = classes[0];
  let st = null;

  function show(body, answer, item, value) {
    const text = itemText(item);
    st = { text, length: [...(text ?? "")].length, spans: Array.isArray(value) ? value.map((s) => [...s]) : [] };
    if (text === null) {
      mount(answer, h("p", { class: "warning", role: "alert" }, "This item has no text to mark."));
      return;
    }
    st.box = h("div", { class: "span-text", tabindex: "0", role: "document", "aria-label": "Item text: select a part, then press a class number" });
    st.picker = h("div", { class: "class-picks", role: "group", "aria-label": "Span class" });
    st.list = h("ol", { class: "object-list", "aria-label": "Spans" });
    // A press on a class button must not move the focus or drop the text selection.
    st.picker.addEventListener("mousedown", (event) => event.preventDefault());
    body.append(st.picker, st.box);
    mount(answer, st.list, h("button", { type: "button", class: "button primary save-objects", onclick: submit }, "Save spans (Enter)"));
    render();
  }

  function render() {
    const { text, spans } = st;
    const cuts = [...new Set([0, st.length, ...spans.flatMap(([s, e]) => [s, e])])].sort((a, b) => a - b);
    const parts = [];
    for (let i = 0; i + 1 < cuts.length; i += 1) {
      const [from, to] = [cuts[i], cuts[i + 1]];
      const piece = text.slice(unitOffset(text, from), unitOffset(text, to));
      const over = spans.filter(([s, e]) => s <= from && e >= to).map(([, , name]) => name);
      if (!over.length) {
        parts.push(piece);
        continue;
      }
      const mark = h("mark", { class: over.length > 1 ? "span-mark several" : "span-mark", title: over.join(", ") }, piece);
      mark.style.setProperty("--box-color", colorOf(classes, over[0]));
      parts.push(mark);
    }
    mount(st.box, parts);
    mount(st.picker, classButtons(classes, (name) => name === cls, (name) => mark(name)));
    mount(
      st.list,
      spans.length
        ? spans.map(([s, e, name], index) => {
            const quote = text.slice(unitOffset(text, s), unitOffset(text, e));
            const pick = h("span", { class: "object-pick" }, h("span", { class: "swatch", "aria-hidden": "true" }), `${index + 1}. ${name} «${quote}» [${s}, ${e})`);
            pick.style.setProperty("--box-color", colorOf(classes, name));
            return h("li", {}, pick, h("button", { type: "button", class: "button small-button", "aria-label": `Remove span ${index + 1}`, onclick: () => removeAt(index) }, "✕"));
          })
        : h("li", { class: "muted small" }, "No spans: saving says nothing in this text is marked."),
    );
  }

  /** The selection as code point offsets ``[anchor, focus]``, or null outside the text. */
  function selection() {
    const sel = window.getSelection();
    if (!sel.rangeCount || !st.box.contains(sel.anchorNode) || !st.box.contains(sel.focusNode)) return null;
    return [offsetOf(sel.anchorNode, sel.anchorOffset), offsetOf(sel.focusNode, sel.focusOffset)];
  }

  function offsetOf(node, offset) {
    const range = document.createRange();
    range.setStart(st.box, 0);
    range.setEnd(node, offset);
    return cpOffset(st.text, range.toString().length);
  }

  function point(cp) {
    let left = unitOffset(st.text, cp);
    const walker = document.createTreeWalker(st.box, NodeFilter.SHOW_TEXT);
    let node = walker.nextNode();
    while (node) {
      if (left <= node.data.length) return [node, left];
      left -= node.data.length;
      const next = walker.nextNode();
      if (!next) return [node, node.data.length];
      node = next;
    }
    return [st.box, 0];
  }

  function select(anchor, focus) {
    const clamp = (n) => Math.max(0, Math.min(st.length, n));
    const [a, f] = [point(clamp(anchor)), point(clamp(focus))];
    window.getSelection().setBaseAndExtent(a[0], a[1], f[0], f[1]);
  }

  /** The next word boundary from ``at`` in direction ``step`` (±1), in code points. */
  function wordStop(at, step) {
    const chars = [...st.text];
    const word = (i) => /[\p{L}\p{N}_]/u.test(chars[i] ?? "");
    const inside = (i) => (step > 0 ? i < st.length : i > 0);
    const crossed = (i) => (step > 0 ? i : i - 1); // the character a step from i passes
    let i = at;
    while (inside(i) && !word(crossed(i))) i += step;
    while (inside(i) && word(crossed(i))) i += step;
    return i;
  }

  function mark(name) {
    cls = name;
    const sel = selection();
    if (!sel || sel[0] === sel[1]) {
      render();
      toast(`Select some text, then press the number of “${name}”`);
      return;
    }
    let [start, end] = [Math.min(...sel), Math.max(...sel)];
    // A class's spans never overlap (the protocol's rule): a new span swallows the ones it
    // overlaps of its class; touching spans stay two.
    const kept = [];
    for (const span of st.spans) {
      if (span[2] === name && span[0] < end && start < span[1]) {
        start = Math.min(start, span[0]);
        end = Math.max(end, span[1]);
      } else kept.push(span);
    }
    st.spans = [...kept, [start, end, name]];
    render();
    st.box.focus({ preventScroll: true });
    select(end, end);
  }

  function removeAt(index) {
    st.spans.splice(index, 1);
    render();
  }

  function removeUnder() {
    const sel = selection();
    if (!sel) return false;
    const [from, to] = [Math.min(...sel), Math.max(...sel)];
    const hit = (s, e) => (from === to ? s <= from && from < e : s < to && from < e);
    const before = st.spans.length;
    st.spans = st.spans.filter(([s, e]) => !hit(s, e));
    if (st.spans.length === before) return false;
    render();
    return true;
  }

  function submit() {
    save(canonicalEntries(st.spans));
  }

  function onKey(event) {
    if (!st?.box) return false;
    const key = event.key;
    const inText = document.activeElement === st.box;
    if (/^[1-9]$/.test(key) && !event.ctrlKey) {
      if (classes[Number(key) - 1] !== undefined) mark(classes[Number(key) - 1]);
    } else if ((key === "ArrowLeft" || key === "ArrowRight") && (event.shiftKey || inText)) {
      const step = key === "ArrowRight" ? 1 : -1;
      const sel = selection() ?? [0, 0];
      const focus = event.ctrlKey ? wordStop(sel[1], step) : sel[1] + step;
      st.box.focus({ preventScroll: true });
      if (event.shiftKey) select(sel[0], focus);
      else select(focus, focus);
    } else if ((key === "Home" || key === "End") && (event.shiftKey || inText)) {
      const sel = selection() ?? [0, 0];
      const to = key === "Home" ? 0 : st.length;
      select(event.shiftKey ? sel[0] : to, to);
    } else if (key === "Delete" || key === "Backspace") {
      if (!removeUnder()) return false;
    } else if (key === "Enter" && !(event.target instanceof HTMLButtonElement)) {
      submit();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  const shortcuts = [
    keyRow(["Shift", "←", "→"], "select text (Ctrl: by word)"),
    keyRow(["1", "9"], "mark the selection with a class"),
    keyRow(["Del"], "remove the spans under the selection"),
    keyRow(["Enter"], "save the spans"),
  ];
  return { show, onKey, shortcuts, drawsItem: true };
}

/** The text an item's spans count in: its data if a string, else its data's ``text``. */
function itemText(item) {
  const data = item.data;
  if (typeof data === "string") return data;
  if (data && typeof data === "object" && typeof data.text === "string") return data.text;
  return null;
}
