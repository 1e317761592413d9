// The editors of the label kinds of issue #20, one per kind, chosen by the task's kind.
// Each is made once per labeling view with ``save(value)`` (the page's save: outbox,
// progress, next item) and gives:
//   show(body, answer, item, value)  draw the item (into ``body``) and its answer controls;
//                                    ``value`` is the label being changed, or null
//   onKey(event) -> bool             a key for the editor (then it calls preventDefault)
//   shortcuts                        rows for the page's keyboard-shortcut list
//   drawsItem                        true if show() draws the item (else the page does)
// Every value an editor saves is already in its kind's canonical spelling (canonical.js).

import { boxesEditor } from "./boxes.js";
import { pairwiseEditor } from "./pairwise.js";
import { spansEditor } from "./spans.js";
import { textEditor } from "./textanswer.js";

const EDITORS = { boxes: boxesEditor, spans: spansEditor, text: textEditor, pairwise: pairwiseEditor };

/** The editor of ``view.kind``, or null for the kinds label.js answers with buttons. */
export function editorFor(view, save) {
  const make = EDITORS[view.kind];
  return make ? make(view, save) : null;
}
