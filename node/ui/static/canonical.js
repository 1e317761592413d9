// The canonical spelling of the issue #20 kinds' values, written by the editors before a
// label is sent. The rule is node/protocol/annotation.py's (canonical_value and the checks
// after it); the node refuses any other spelling, so this is the page's copy of that rule,
// kept as small as it can be and checked against the Python one by
// tests/browser/test_editors.py (test_the_page_spells_values_as_the_protocol_does).
//
// Offsets: the protocol counts characters in Unicode code points, JavaScript strings in
// UTF-16 units. Every offset leaving an editor goes through cpOffset; every one coming back
// (a label being changed) through unitOffset.

/** The code point offset of the UTF-16 offset ``units`` in ``text``. */
export function cpOffset(text, units) {
  let points = 0;
  for (let i = 0; i < units && i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    // The low half of a surrogate pair belongs to the code point counted at its high half.
    if (!(code >= 0xdc00 && code <= 0xdfff && i > 0 && isHigh(text.charCodeAt(i - 1)))) points += 1;
  }
  return points;
}

/** The UTF-16 offset of the code point offset ``points`` in ``text``. */
export function unitOffset(text, points) {
  let units = 0;
  for (let n = 0; n < points && units < text.length; n += 1) {
    units += isHigh(text.charCodeAt(units)) && units + 1 < text.length ? 2 : 1;
  }
  return units;
}

function isHigh(code) {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Python's ``str`` order (code points), which JavaScript's ``<`` (UTF-16 units) is not. */
export function compareCodePoints(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Boxes ``[x0, y0, x1, y1, class]`` or spans ``[start, end, class]``: sorted by their
 * numbers, then the class, each entry once (the protocol's sort key, ``_sort_key``). */
export function canonicalEntries(entries) {
  const sorted = entries.map((entry) => [...entry]).sort((a, b) => {
    for (let i = 0; i < a.length - 1; i += 1) if (a[i] !== b[i]) return a[i] - b[i];
    return compareCodePoints(a[a.length - 1], b[b.length - 1]);
  });
  return sorted.filter((entry, i) => i === 0 || JSON.stringify(entry) !== JSON.stringify(sorted[i - 1]));
}

/** A text answer: Unicode NFC, the only spelling check_text accepts. How answers are
 * compared (the task's ``normalization``) is the consensus's business, not the page's. */
export function canonicalText(text) {
  return text.normalize("NFC");
}
