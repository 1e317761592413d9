// The text editor: a multi-line box for free answers and transcriptions; Ctrl+Enter (or
// the button) saves. The value sent is the text in Unicode NFC (canonical.js), the one
// spelling the protocol accepts; how answers are compared (the task's normalization) is
// the consensus's business, so the page does not fold case or spaces.

import { canonicalText } from "./canonical.js";
import { h, mount, toast } from "./dom.js";
import { keyRow } from "./editkit.js";

export function textEditor(view, save) {
  let input = null;

  function show(body, answer, item, value) {
    input = h("textarea", { id: "text-answer", class: "text-answer", rows: "5", spellcheck: "true", "aria-keyshortcuts": "Control+Enter" });
    input.value = typeof value === "string" ? value : "";
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        submit();
      }
    });
    mount(
      answer,
      h("label", { for: "text-answer", class: "text-answer-label" }, "Your answer"),
      input,
      h("button", { type: "button", class: "button primary save-objects", onclick: submit }, "Save (Ctrl+Enter)"),
    );
    input.focus();
  }

  function submit() {
    if (!input.value.trim()) {
      toast("Type an answer (or skip the item)");
      return;
    }
    save(canonicalText(input.value));
  }

  /** Ctrl+Enter saves from anywhere on the page (in the box, its own listener does). */
  function onKey(event) {
    if (!input || event.key !== "Enter" || !event.ctrlKey) return false;
    event.preventDefault();
    submit();
    return true;
  }

  const shortcuts = [keyRow(["Ctrl", "Enter"], "save the answer")];
  return { show, onKey, shortcuts };
}
