// The boxes editor: draw boxes on the item's image by dragging, select, move and resize
// them, pick a class per box; zoom and pan. Coordinates are integer pixels of the image's
// own grid (naturalWidth × naturalHeight) whatever the zoom or CSS scaling, because every
// pointer position is mapped through the drawn image's rectangle.
//
// A drag that starts on a box moves it (on a corner: resizes it); with Shift held it draws
// a new box there instead, so boxes can be drawn inside or over others.
//
// Keys: 1–9 pick the class (of the selected box too), Delete removes the selected box,
// arrows nudge it (Shift: 10 px), + / − zoom, 0 fits, Esc deselects, Enter saves.

import { canonicalEntries } from "./canonical.js";
import { h, mount } from "./dom.js";
import { classButtons, colorOf, keyRow } from "./editkit.js";

const ZOOMS = [1, 1.5, 2, 3, 4, 6, 8];
const MIN_DRAG = 4; // screen pixels: a shorter press is a click (deselect), not a box
const CORNERS = ["nw", "ne", "sw", "se"];

export function boxesEditor(view, save) {
  const classes = view.classes;
  let cls = classes[0];
  let st = null; // the item being labelled: its boxes, selection, zoom and elements

  function show(body, answer, item, value) {
    st?.observer?.disconnect();
    const boxes = Array.isArray(value) ? value.map(([x0, y0, x1, y1, name]) => ({ x0, y0, x1, y1, cls: name })) : [];
    st = { boxes, selected: -1, zoom: 0, pan: false, drag: null, natW: 0, natH: 0 };
    if (!item.content_cid) {
      mount(answer, h("p", { class: "warning", role: "alert" }, "This item has no image to draw on."));
      return;
    }
    st.img = h("img", { class: "box-image", src: `/ipfs/${item.content_cid}`, alt: `Image item ${item.item_id}`, draggable: "false" });
    st.overlay = h("div", { class: "box-overlay" });
    st.canvas = h("div", { class: "box-canvas", "data-testid": "box-canvas" }, st.img, st.overlay);
    st.stage = h("div", { class: "box-stage", tabindex: "0", role: "application", "aria-label": "Image: drag to draw a box" }, st.canvas);
    st.picker = h("div", { class: "class-picks", role: "group", "aria-label": "Box class" });
    st.zoomText = h("span", { class: "zoom-text muted small", "aria-live": "polite" }, "100%");
    st.panButton = h("button", { type: "button", class: "button small-button", "aria-pressed": "false", onclick: () => setPan(!st.pan) }, "Pan");
    const tools = h(
      "div",
      { class: "box-tools" },
      h("button", { type: "button", class: "button small-button", "aria-label": "Zoom out", "aria-keyshortcuts": "-", onclick: () => zoomBy(-1) }, "−"),
      st.zoomText,
      h("button", { type: "button", class: "button small-button", "aria-label": "Zoom in", "aria-keyshortcuts": "+", onclick: () => zoomBy(1) }, "+"),
      st.panButton,
    );
    st.list = h("ol", { class: "object-list", "aria-label": "Boxes" });
    body.append(st.picker, tools, st.stage);
    mount(answer, st.list, h("button", { type: "button", class: "button primary save-objects", onclick: submit }, "Save boxes (Enter)"));
    const own = st;
    st.img.addEventListener("error", () => {
      if (st === own) mount(answer, h("p", { class: "warning", role: "alert" }, "This node could not show the image (not fetched yet?): skip the item for now."));
    });
    st.img.addEventListener("load", () => {
      if (st !== own) return;
      st.natW = st.img.naturalWidth;
      st.natH = st.img.naturalHeight;
      layout();
      st.observer = new ResizeObserver(() => st === own && layout());
      st.observer.observe(body);
    });
    st.canvas.addEventListener("pointerdown", down);
    st.canvas.addEventListener("pointermove", move);
    st.canvas.addEventListener("pointerup", up);
    st.canvas.addEventListener("pointercancel", () => (st.drag = null));
    render();
  }

  function layout() {
    if (!st.natW || !st.stage.isConnected) return; // not loaded yet, or the page moved on
    const width = st.stage.parentElement.clientWidth;
    const height = Math.min(window.innerHeight * 0.6, 560);
    const fit = Math.min(width / st.natW, height / st.natH);
    st.stage.style.width = `${Math.floor(st.natW * fit)}px`;
    st.stage.style.height = `${Math.floor(st.natH * fit)}px`;
    const zoom = ZOOMS[st.zoom];
    st.canvas.style.width = `${st.natW * fit * zoom}px`;
    st.canvas.style.height = `${st.natH * fit * zoom}px`;
    st.zoomText.textContent = `${Math.round(zoom * 100)}%`;
  }

  function zoomBy(step) {
    const next = Math.max(0, Math.min(ZOOMS.length - 1, st.zoom + step));
    if (next === st.zoom || !st.natW) return;
    // Keep the point at the middle of the view where it is.
    const { stage } = st;
    const cx = (stage.scrollLeft + stage.clientWidth / 2) / ZOOMS[st.zoom];
    const cy = (stage.scrollTop + stage.clientHeight / 2) / ZOOMS[st.zoom];
    st.zoom = next;
    layout();
    stage.scrollLeft = cx * ZOOMS[next] - stage.clientWidth / 2;
    stage.scrollTop = cy * ZOOMS[next] - stage.clientHeight / 2;
  }

  function setPan(on) {
    st.pan = on;
    st.panButton.setAttribute("aria-pressed", String(on));
    st.stage.classList.toggle("panning", on);
  }

  /** The image pixel under a pointer: the canvas's rectangle is the image at any zoom. */
  function pixel(event) {
    const rect = st.canvas.getBoundingClientRect();
    const x = Math.round(((event.clientX - rect.left) / rect.width) * st.natW);
    const y = Math.round(((event.clientY - rect.top) / rect.height) * st.natH);
    return { x: Math.max(0, Math.min(st.natW, x)), y: Math.max(0, Math.min(st.natH, y)) };
  }

  function down(event) {
    if (!st.natW || (event.button !== 0 && event.button !== 1)) return;
    event.preventDefault();
    st.stage.focus({ preventScroll: true });
    st.canvas.setPointerCapture(event.pointerId);
    const start = { client: [event.clientX, event.clientY], at: pixel(event) };
    const target = event.target;
    if (st.pan || event.button === 1) {
      st.drag = { mode: "pan", ...start, scroll: [st.stage.scrollLeft, st.stage.scrollTop] };
    } else if (target.dataset.corner && !event.shiftKey) {
      st.drag = { mode: "resize", corner: target.dataset.corner, ...start, box: { ...st.boxes[st.selected] } };
    } else if (target.closest(".box") && !event.shiftKey) {
      st.selected = Number(target.closest(".box").dataset.index);
      st.drag = { mode: "move", ...start, box: { ...st.boxes[st.selected] } };
      render();
    } else {
      st.drag = { mode: "draw", ...start };
    }
  }

  function move(event) {
    const drag = st.drag;
    if (!drag) return;
    const at = pixel(event);
    if (drag.mode === "pan") {
      st.stage.scrollLeft = drag.scroll[0] - (event.clientX - drag.client[0]);
      st.stage.scrollTop = drag.scroll[1] - (event.clientY - drag.client[1]);
    } else if (drag.mode === "draw") {
      drag.draft = { x0: Math.min(drag.at.x, at.x), y0: Math.min(drag.at.y, at.y), x1: Math.max(drag.at.x, at.x), y1: Math.max(drag.at.y, at.y), cls };
      render();
    } else if (drag.mode === "move") {
      st.boxes[st.selected] = shifted(drag.box, at.x - drag.at.x, at.y - drag.at.y);
      render();
    } else {
      st.boxes[st.selected] = resized(drag.box, drag.corner, at);
      render();
    }
  }

  function up(event) {
    const drag = st.drag;
    st.drag = null;
    if (!drag || drag.mode !== "draw") return;
    const far = Math.hypot(event.clientX - drag.client[0], event.clientY - drag.client[1]) >= MIN_DRAG;
    const box = drag.draft;
    if (far && box && box.x1 > box.x0 && box.y1 > box.y0) {
      st.boxes.push(box);
      st.selected = st.boxes.length - 1;
    } else {
      st.selected = -1;
    }
    render();
  }

  function shifted(box, dx, dy) {
    const x = Math.max(-box.x0, Math.min(st.natW - box.x1, dx));
    const y = Math.max(-box.y0, Math.min(st.natH - box.y1, dy));
    return { ...box, x0: box.x0 + x, x1: box.x1 + x, y0: box.y0 + y, y1: box.y1 + y };
  }

  function resized(box, corner, at) {
    const xs = corner.endsWith("w") ? [at.x, box.x1] : [box.x0, at.x];
    const ys = corner.startsWith("n") ? [at.y, box.y1] : [box.y0, at.y];
    const x0 = Math.min(...xs);
    const y0 = Math.min(...ys);
    // Never thinner than a pixel: the protocol needs x0 < x1 and y0 < y1.
    const x1 = Math.max(Math.max(...xs), x0 + 1);
    const y1 = Math.max(Math.max(...ys), y0 + 1);
    return { ...box, x0: Math.min(x0, st.natW - 1), y0: Math.min(y0, st.natH - 1), x1: Math.min(x1, st.natW), y1: Math.min(y1, st.natH) };
  }

  function render() {
    if (!st.overlay) return;
    const pct = (value, size) => `${(100 * value) / size}%`;
    const place = (element, box) => {
      element.style.left = pct(box.x0, st.natW || 1);
      element.style.top = pct(box.y0, st.natH || 1);
      element.style.width = pct(box.x1 - box.x0, st.natW || 1);
      element.style.height = pct(box.y1 - box.y0, st.natH || 1);
      element.style.setProperty("--box-color", colorOf(classes, box.cls));
      return element;
    };
    const drawn = st.boxes.map((box, index) => {
      const selected = index === st.selected;
      return place(
        h(
          "div",
          { class: selected ? "box selected" : "box", "data-index": index },
          h("span", { class: "box-tag" }, `${index + 1} ${box.cls}`),
          selected ? CORNERS.map((corner) => h("span", { class: `handle ${corner}`, "data-corner": corner })) : null,
        ),
        box,
      );
    });
    const draft = st.drag?.draft ? place(h("div", { class: "box draft" }), st.drag.draft) : null;
    mount(st.overlay, drawn, draft);
    mount(
      st.picker,
      classButtons(classes, (name) => name === (st.selected >= 0 ? st.boxes[st.selected].cls : cls), pick),
    );
    mount(
      st.list,
      st.boxes.length
        ? st.boxes.map((box, index) =>
            h(
              "li",
              {},
              h(
                "button",
                { type: "button", class: "object-pick", "aria-pressed": String(index === st.selected), onclick: () => select(index) },
                h("span", { class: "swatch", "aria-hidden": "true" }),
                `${index + 1}. ${box.cls} [${box.x0}, ${box.y0}, ${box.x1}, ${box.y1}]`,
              ),
              h("button", { type: "button", class: "button small-button", "aria-label": `Remove box ${index + 1}`, onclick: () => remove(index) }, "✕"),
            ),
          )
        : h("li", { class: "muted small" }, "No boxes: saving says there is no object in this image."),
    );
    st.list.querySelectorAll(".swatch").forEach((swatch, index) => swatch.style.setProperty("--box-color", colorOf(classes, st.boxes[index].cls)));
  }

  function pick(name) {
    cls = name;
    if (st.selected >= 0) st.boxes[st.selected] = { ...st.boxes[st.selected], cls: name };
    render();
  }

  function select(index) {
    st.selected = index;
    render();
  }

  function remove(index) {
    st.boxes.splice(index, 1);
    st.selected = -1;
    render();
  }

  function submit() {
    save(canonicalEntries(st.boxes.map((b) => [b.x0, b.y0, b.x1, b.y1, b.cls])));
  }

  function onKey(event) {
    if (!st || event.ctrlKey) return false;
    const key = event.key;
    const selected = st.selected >= 0;
    if (/^[1-9]$/.test(key)) {
      if (classes[Number(key) - 1] !== undefined) pick(classes[Number(key) - 1]);
    } else if ((key === "Delete" || key === "Backspace") && selected) {
      remove(st.selected);
    } else if (key.startsWith("Arrow") && selected) {
      const step = event.shiftKey ? 10 : 1;
      const [dx, dy] = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[key];
      st.boxes[st.selected] = shifted(st.boxes[st.selected], dx, dy);
      render();
    } else if (key === "+" || key === "=") {
      zoomBy(1);
    } else if (key === "-" || key === "_") {
      zoomBy(-1);
    } else if (key === "0") {
      zoomBy(-ZOOMS.length);
    } else if (key === "Escape" && selected) {
      select(-1);
    } else if (key === "Enter" && !(event.target instanceof HTMLButtonElement)) {
      submit();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  const shortcuts = [
    keyRow(["1", "9"], "class of the next (or selected) box"),
    keyRow(["Del"], "remove the selected box"),
    keyRow(["←", "↑", "→", "↓"], "nudge the selected box (Shift: 10 px)"),
    keyRow(["+", "−", "0"], "zoom in, out, fit"),
    keyRow(["Enter"], "save the boxes"),
  ];
  return { show, onKey, shortcuts, drawsItem: true };
}
