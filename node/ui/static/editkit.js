// Pieces the editors of the issue #20 kinds share: the class picker, class colours and the
// rows of the keyboard-shortcut list.

import { h } from "./dom.js";

const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#4b5563"];

/** A class's colour: by its place in the task's class list, so it is the same on every item. */
export function colorOf(classes, name) {
  const at = classes.indexOf(name);
  return COLORS[(at < 0 ? 0 : at) % COLORS.length];
}

/** One button per class, number key shown, the chosen one pressed. */
export function classButtons(classes, isPressed, pick) {
  return classes.map((name, index) => {
    const shortcut = index < 9 ? String(index + 1) : null;
    const button = h(
      "button",
      { type: "button", class: "class-pick", "aria-pressed": String(isPressed(name)), "aria-keyshortcuts": shortcut, onclick: () => pick(name) },
      shortcut ? h("kbd", { "aria-hidden": "true" }, shortcut) : null,
      h("span", { class: "swatch", "aria-hidden": "true" }),
      h("span", {}, name),
    );
    button.style.setProperty("--box-color", colorOf(classes, name));
    return button;
  });
}

/** A ``<dt>``/``<dd>`` pair for the shortcut list: keys (joined by "–" for a two-key range). */
export function keyRow(keys, text) {
  const joiner = keys.length === 2 && keys[0] === "1" ? "–" : " ";
  const dt = h("dt", {});
  keys.forEach((key, i) => dt.append(...(i ? [joiner] : []), h("kbd", {}, key)));
  return [dt, h("dd", {}, text)];
}
