"""Synthetic crowds for the label kinds of issue #20: true values and noisy answers.

One place for the generators that ``scripts/bench_kinds.py`` measures the consensus with,
the ``noisy`` labeling program (:mod:`node.labelers.noisy`) answers with, and
``labelnet demo --kind`` builds its crowd from, so the demo's crowd is the benchmark's.
Every function takes an explicit ``np.random.Generator``; an annotator of skill ``s`` in
[0, 1] misses, shifts and mislabels less as ``s`` grows, and a spammer answers at random.
Images are 640x480 pixels and texts :data:`TEXT_LENGTH` characters.
"""

from __future__ import annotations

import numpy as np

from node.protocol.annotation import canonical_value
from node.protocol.canonical import JsonValue
from node.protocol.kinds import TaskKind

CLASSES = ("a", "b", "c")
WIDTH, HEIGHT = 640, 480
TEXT_LENGTH = 200
WORDS = [f"w{chr(97 + i % 26)}{chr(97 + (i * 7) % 26)}{i % 10}" for i in range(300)]
"""The vocabulary of synthetic transcriptions (300 made-up words)."""

Entry = list[JsonValue]


def _other(rng: np.random.Generator, cls: str, classes: tuple[str, ...]) -> str:
    """A class other than ``cls`` (``cls`` itself when the task has one class)."""
    if len(classes) < 2:
        return cls
    return classes[(classes.index(cls) + int(rng.integers(1, len(classes)))) % len(classes)]


# ---- boxes -----------------------------------------------------------------------------


def box_truth(rng: np.random.Generator, classes: tuple[str, ...] = CLASSES) -> list[Entry]:
    """Zero to four boxes on a 640x480 image, in the canonical form."""
    out: list[Entry] = []
    for _ in range(rng.integers(0, 5)):
        w, h = rng.integers(30, 200, 2)
        x, y = rng.integers(0, WIDTH - w), rng.integers(0, HEIGHT - h)
        out.append([int(x), int(y), int(x + w), int(y + h), classes[rng.integers(len(classes))]])
    return out


def random_box(
    rng: np.random.Generator, classes: tuple[str, ...] = CLASSES
) -> tuple[int | str, ...]:
    w, h = rng.integers(20, 200, 2)
    x, y = rng.integers(0, WIDTH - w), rng.integers(0, HEIGHT - h)
    return (int(x), int(y), int(x + w), int(y + h), classes[rng.integers(len(classes))])


def box_answer(
    rng: np.random.Generator,
    truth: list[Entry],
    s: float,
    spam: bool,
    classes: tuple[str, ...] = CLASSES,
) -> JsonValue:
    """An annotator's boxes: each true box drawn with probability 0.6 + 0.35 s, its corners
    jittered by (1 - s) 15% of its size, its class wrong with probability 0.3 (1 - s), and
    Poisson(0.5 (1 - s)) boxes where there is nothing."""
    out: set[tuple[int | str, ...]] = set()
    if spam:
        for _ in range(rng.poisson(2)):
            out.add(random_box(rng, classes))
        return canonical_value(TaskKind.BOXES, [list(b) for b in out])
    for entry in truth:
        (x0, y0, x1, y1), cls = _coordinates(entry, 4)
        if rng.random() > 0.6 + 0.35 * s:
            continue
        sigma = (1 - s) * 0.15 * max(x1 - x0, y1 - y0) + 1
        j = np.rint(rng.normal(0, sigma, 4)).astype(int)
        a, b = sorted((max(0, x0 + j[0]), min(WIDTH, x1 + j[2])))
        c, d = sorted((max(0, y0 + j[1]), min(HEIGHT, y1 + j[3])))
        if a == b or c == d:
            continue
        if rng.random() > 0.7 + 0.3 * s:
            cls = _other(rng, cls, classes)
        out.add((int(a), int(c), int(b), int(d), cls))
    for _ in range(rng.poisson(0.5 * (1 - s))):
        out.add(random_box(rng, classes))
    return canonical_value(TaskKind.BOXES, [list(b) for b in out])


# ---- spans -----------------------------------------------------------------------------


def span_truth(rng: np.random.Generator, classes: tuple[str, ...] = CLASSES) -> list[Entry]:
    """Zero to four disjoint spans in a text of :data:`TEXT_LENGTH` characters."""
    out: list[Entry] = []
    cursor = int(rng.integers(0, 20))
    for _ in range(rng.integers(0, 5)):
        length = int(rng.integers(3, 16))
        if cursor + length > TEXT_LENGTH:
            break
        out.append([cursor, cursor + length, classes[rng.integers(len(classes))]])
        cursor += length + int(rng.integers(1, 40))
    return out


def _spans_canonical(spans: set[tuple[int, int, str]]) -> list[Entry]:
    """Sorted, and a span overlapping an earlier one of its class dropped."""
    kept: list[Entry] = []
    last: dict[str, int] = {}
    for s, e, c in sorted(spans):
        if s >= last.get(c, 0):
            kept.append([s, e, c])
            last[c] = e
    return kept


def _random_span(rng: np.random.Generator, classes: tuple[str, ...]) -> tuple[int, int, str]:
    a = int(rng.integers(0, TEXT_LENGTH - 15))
    return (a, a + int(rng.integers(3, 15)), classes[rng.integers(len(classes))])


def span_answer(
    rng: np.random.Generator,
    truth: list[Entry],
    s: float,
    spam: bool,
    classes: tuple[str, ...] = CLASSES,
) -> JsonValue:
    """An annotator's spans: each true span kept with probability 0.6 + 0.35 s, a boundary
    off by up to two characters with probability 0.5 (1 - s), the class wrong with
    probability 0.3 (1 - s), and Poisson(0.5 (1 - s)) spans where there is nothing."""
    out: set[tuple[int, int, str]] = set()
    if spam:
        for _ in range(rng.poisson(2)):
            out.add(_random_span(rng, classes))
        return _spans_canonical(out)
    for entry in truth:
        (start, end), cls = _coordinates(entry, 2)
        if rng.random() > 0.6 + 0.35 * s:
            continue
        if rng.random() > 0.5 + 0.5 * s:  # a boundary off by one or two
            start = max(0, start + int(rng.integers(-2, 3)))
            end = max(start + 1, end + int(rng.integers(-2, 3)))
        if rng.random() > 0.7 + 0.3 * s:
            cls = _other(rng, cls, classes)
        out.add((start, min(end, TEXT_LENGTH), cls))
    for _ in range(rng.poisson(0.5 * (1 - s))):
        out.add(_random_span(rng, classes))
    return _spans_canonical(out)


# ---- text ------------------------------------------------------------------------------


def text_truth(rng: np.random.Generator) -> str:
    """Three to nine words of :data:`WORDS`."""
    return " ".join(rng.choice(WORDS, int(rng.integers(3, 10))))


def text_answer(rng: np.random.Generator, truth: str, s: float, spam: bool) -> str:
    """A transcription: one to three character errors with probability 0.7 (1 - s) - 0.05,
    and case or spacing changes (which the loose normalization ignores) 30% of the time."""
    if spam:
        return text_truth(rng)
    text = truth
    if rng.random() > 0.3 + 0.65 * s:  # a transcription error or several
        chars = list(text)
        for _ in range(int(rng.integers(1, 4))):
            p = int(rng.integers(0, len(chars)))
            op = rng.integers(3)
            if op == 0:
                chars[p] = chr(97 + int(rng.integers(26)))
            elif op == 1 and len(chars) > 1:
                del chars[p]
            else:
                chars.insert(p, chr(97 + int(rng.integers(26))))
        text = "".join(chars)
    if rng.random() < 0.3:  # case and spacing the loose normalization ignores
        text = "  " + text.upper() if rng.random() < 0.5 else text.replace(" ", "  ")
    return text


# ---- pairwise --------------------------------------------------------------------------


def pair_answer(rng: np.random.Generator, truth: str, s: float, spam: bool) -> str:
    """The better side (``truth``, "A" or "B") with probability 0.5 + 0.5 s, a tie with
    probability 0.05, else the worse side; a spammer picks A, B or tie uniformly."""
    if spam:
        return str(rng.choice(["A", "B", "tie"]))
    u = rng.random()
    right = 0.5 + 0.5 * s
    wrong = "B" if truth == "A" else "A"
    return truth if u < right else ("tie" if u < right + 0.05 else wrong)


def noisy_answer(
    kind: TaskKind,
    rng: np.random.Generator,
    truth: JsonValue,
    s: float,
    spam: bool,
    classes: tuple[str, ...] = CLASSES,
) -> JsonValue:
    """The answer of a kind's generator above to an item whose true value is ``truth``
    (``None`` for a spammer, who needs none)."""
    if kind is TaskKind.BOXES:
        return box_answer(rng, _entries(truth), s, spam, classes)
    if kind is TaskKind.SPANS:
        return span_answer(rng, _entries(truth), s, spam, classes)
    if kind is TaskKind.TEXT:
        return text_answer(rng, truth if isinstance(truth, str) else "", s, spam)
    if kind is TaskKind.PAIRWISE:
        return pair_answer(rng, truth if isinstance(truth, str) else "A", s, spam)
    raise ValueError(f"no synthetic answers for {kind} tasks")


def _entries(truth: JsonValue) -> list[Entry]:
    if truth is None:
        return []
    if not isinstance(truth, list) or not all(isinstance(e, list) for e in truth):
        raise ValueError(f"a true boxes or spans value is a list of entries, got {truth!r}")
    return [e for e in truth if isinstance(e, list)]


def _coordinates(entry: Entry, width: int) -> tuple[list[int], str]:
    """A true box's or span's integers and class (a malformed truth file is a ValueError)."""
    *numbers, cls = entry
    if len(numbers) != width or not isinstance(cls, str):
        raise ValueError(f"a true entry is {width} integers and a class, got {entry!r}")
    out = []
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f"a true entry is {width} integers and a class, got {entry!r}")
        out.append(number)
    return out, cls
