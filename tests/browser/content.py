"""The task the browser test labels: twenty short reviews and two pictures, with answers.

The pictures are real PNG files drawn here (a smiling and a frowning face), so the page's
image path is exercised end to end: stored by CID, served by the node's ``/ipfs/`` gateway,
decoded by the browser.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable

from node.protocol.cid import compute_cid
from node.protocol.kinds import TaskKind
from node.protocol.manifest import ItemSpec, TaskContent, build_task_content
from tests.roles.network import TINY_TASK_CONSENSUS

CLASSES = ("positive", "negative", "neutral")
INSTRUCTIONS = """\
## How to label

Read each review (or look at the picture) and pick the **overall mood** it expresses.

- *positive*: the author liked it
- *negative*: the author did not
- *neutral*: facts only, or mixed feelings

Some reviews quote markup such as <i>: label what the words say.
Use the number keys `1`, `2`, `3`. See [the labeling guide](https://example.org/guide).
"""

REVIEWS = (
    ("Absolutely loved it, would buy again.", "positive"),
    ("Broke after two days. Waste of money.", "negative"),
    ("The package arrived on Tuesday.", "neutral"),
    ("Fantastic battery life and a gorgeous screen.", "positive"),
    ("Support never answered my emails.", "negative"),
    ("It is blue and weighs 200 grams.", "neutral"),
    ("Best purchase I made this year!", "positive"),
    ("Too loud, too slow, too expensive.", "negative"),
    ("Comes with a USB-C cable.", "neutral"),
    ("My kids adore it.", "positive"),
    ("The lid cracked in the first week.", "negative"),
    ("Picture smiling", "positive"),
    ("Delivered in a cardboard box.", "neutral"),
    ("Exceeded every expectation.", "positive"),
    ("Picture frowning", "negative"),
    ("Smells of burnt plastic.", "negative"),
    ("Available in three sizes.", "neutral"),
    ("Works like a charm.", "positive"),
    ("Returned it the same day.", "negative"),
    ("The manual is twelve pages long.", "neutral"),
)


def _png(
    size: int, pixel: Callable[[int, int], tuple[int, int, int]], height: int | None = None
) -> bytes:
    """A truecolour PNG, ``size`` pixels wide and ``height`` (else ``size``) high, each pixel
    the RGB ``pixel(x, y)``."""
    high = size if height is None else height
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(high)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, high, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def face(smiling: bool, size: int = 160) -> bytes:
    """A yellow face on a pale background, its mouth curved up or down."""
    centre, radius = size / 2, size * 0.42

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        dx, dy = x - centre, y - centre
        if math.hypot(dx, dy) > radius:
            return (238, 242, 255) if smiling else (254, 242, 242)
        for ex in (-0.35, 0.35):  # the eyes
            if math.hypot(dx - ex * radius, dy + 0.25 * radius) < radius * 0.11:
                return (40, 40, 48)
        arc = math.hypot(dx, dy - (-0.05 if smiling else 0.75) * radius)
        lower = dy > 0.05 * radius if smiling else dy > 0.3 * radius
        if abs(arc - 0.5 * radius) < radius * 0.06 and lower:
            return (40, 40, 48)
        return (250, 204, 21)

    return _png(size, pixel)


IMAGES = {"Picture smiling": face(smiling=True), "Picture frowning": face(smiling=False)}


def items() -> list[ItemSpec]:
    specs: list[ItemSpec] = []
    for n, (text, _) in enumerate(REVIEWS):
        item_id = f"r{n + 1:02d}"
        if text in IMAGES:
            specs.append(
                ItemSpec(item_id, content=compute_cid(IMAGES[text]), media_type="image/png")
            )
        else:
            specs.append(ItemSpec(item_id, data={"text": text}))
    return specs


ANSWERS = {f"r{n + 1:02d}": answer for n, (_, answer) in enumerate(REVIEWS)}


def task_content() -> TaskContent:
    return build_task_content(
        items(),
        title="Product review mood",
        instructions=INSTRUCTIONS,
        kind=TaskKind.CATEGORICAL,
        classes=CLASSES,
        consensus=TINY_TASK_CONSENSUS,
    )


def blobs() -> list[bytes]:
    """Everything the requester stores: the pictures, the pages and the manifest."""
    return [*IMAGES.values(), *task_content().blobs()]
