// The pairwise editor: the two responses an item compares side by side (stacked on a
// phone), the prompt above them if the item gives one; A, B or T (tie) saves the choice.
// Each side is content this node serves by CID (/ipfs/): shown as text when it is UTF-8
// (a JSON string, or an object's "text", shown as that text), else as an image.

import { h, mount } from "./dom.js";
import { keyRow } from "./editkit.js";

const CHOICES = [
  ["A", "a", "A is better"],
  ["tie", "t", "Tie"],
  ["B", "b", "B is better"],
];

export function pairwiseEditor(view, save) {
  let current = null;

  function show(body, answer, item, value) {
    current = item;
    const data = item.data && typeof item.data === "object" ? item.data : {};
    const side = (name, cid) => {
      const content = h("div", { class: "side-content", "aria-busy": "true" }, h("p", { class: "muted small" }, "Loading…"));
      if (typeof cid === "string") loadSide(content, cid);
      else mount(content, h("p", { class: "warning" }, "This item names no response here."));
      return h("section", { class: "side", "aria-label": `Response ${name}` }, h("h3", { class: "side-title" }, `Response ${name}`), content);
    };
    body.append(
      typeof data.prompt === "string" ? h("p", { class: "pair-prompt" }, data.prompt) : null,
      h("div", { class: "pair" }, side("A", data.a), side("B", data.b)),
    );
    mount(
      answer,
      h(
        "div",
        { class: "choices pair-choices", role: "group", "aria-label": "Which response is better" },
        CHOICES.map(([choice, key, text]) =>
          h(
            "button",
            { type: "button", class: "choice", "aria-pressed": String(value === choice), "aria-keyshortcuts": key.toUpperCase(), onclick: () => save(choice) },
            h("kbd", { "aria-hidden": "true" }, key.toUpperCase()),
            h("span", { class: "choice-name" }, text),
          ),
        ),
      ),
    );
  }

  function onKey(event) {
    if (!current || event.ctrlKey || event.shiftKey) return false;
    const choice = CHOICES.find(([, key]) => key === event.key.toLowerCase());
    if (!choice) return false;
    event.preventDefault();
    save(choice[0]);
    return true;
  }

  const shortcuts = [keyRow(["A", "B", "T"], "A is better, B is better, tie")];
  return { show, onKey, shortcuts, drawsItem: true };
}

async function loadSide(container, cid) {
  let response;
  try {
    response = await fetch(`/ipfs/${encodeURIComponent(cid)}`);
  } catch {
    response = null;
  }
  container.removeAttribute("aria-busy");
  if (!response || !response.ok) {
    mount(container, h("p", { class: "warning", role: "alert" }, `This node does not hold response ${cid} (yet).`));
    return;
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    mount(container, h("img", { class: "side-image", src: `/ipfs/${encodeURIComponent(cid)}`, alt: `Response ${cid}` }));
    return;
  }
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed === "string") text = parsed;
    else if (parsed && typeof parsed.text === "string") text = parsed.text;
  } catch {
    /* plain text: shown as it is */
  }
  mount(container, h("p", { class: "side-text" }, text));
}
