// Small DOM helpers. Text always goes in as text (never innerHTML), except the task
// instructions, which the node renders from markdown after escaping every character.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An element ``h(tag, ...)`` inside a region that scrolls sideways on narrow screens. */
export function scrolling(name, tag, attributes, ...children) {
  return h("div", { class: "scroll-x", role: "region", "aria-label": name, tabindex: "0" }, h(tag, attributes, ...children));
}

export function mount(container, ...children) {
  container.replaceChildren();
  append(container, children);
}

let toastTimer;
export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.classList.add("visible");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("visible"), 2600);
}

const UNIT = 10n ** 18n;

/** A token amount (decimal string in the smallest unit) as "12.5 LABEL". */
export function tokens(amount) {
  const value = BigInt(amount ?? "0");
  const whole = value / UNIT;
  const cents = ((value % UNIT) * 100n) / UNIT;
  const fraction = cents === 0n ? "" : `.${cents.toString().padStart(2, "0").replace(/0$/, "")}`;
  return `${whole.toLocaleString("en-US")}${fraction} LABEL`;
}

export function duration(seconds) {
  if (seconds <= 0) return "closed";
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min`;
  return `${seconds} s`;
}

export function dateTime(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

export function shortAddress(address) {
  return address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "";
}

export function percent(ratio) {
  return `${(Number(ratio) * 100).toFixed(1)}%`;
}

export function progressBar(done, total, label) {
  const bar = h("div", {
    class: "progress",
    role: "progressbar",
    "aria-label": label,
    "aria-valuemin": 0,
    "aria-valuemax": total,
    "aria-valuenow": done,
  });
  const fill = h("div", { class: "progress-fill" });
  fill.style.width = `${total ? Math.min(100, (100 * done) / total) : 0}%`;
  bar.append(fill);
  return bar;
}
