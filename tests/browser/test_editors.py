"""The editors of the label kinds of issue #20 in Chromium: boxes, spans, text, pairwise.

Like test_task_kinds.py, a node without a chain serves the page in-process and the joined
tasks are written to its database as the loader writes them; images and pairwise responses
sit in the node's own store, served by its ``/ipfs/`` gateway. Each test labels by mouse
and by keyboard and asserts the exact values the node stored, each of which must also pass
the protocol's check (:func:`node.protocol.annotation.check_value`). Screenshots at
desktop and phone width go where the other browser tests put theirs.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from playwright.sync_api import Page, ViewportSize, expect

from node.db.models import ItemCreate, ParticipationState
from node.db.repositories import ItemRepository, ParticipationRepository
from node.protocol.annotation import AnnotationParams, canonical_value, check_value
from node.protocol.canonical import JsonValue
from node.protocol.kinds import TaskKind
from tests.api.conftest import CHAIN, add_task
from tests.browser.content import _png
from tests.browser.test_task_kinds import Served, page, problems, served

__all__ = ["page", "problems", "served"]

PHONE: ViewportSize = {"width": 375, "height": 812}


def join(
    served: Served, task_id: int, kind: str, classes: tuple[str, ...], items: list[ItemCreate]
) -> None:
    """The task as the loader leaves a joined one: its row, its items, the participation."""
    add_task(served.services.db, task_id, items=0, num_items=len(items))
    with served.services.db.write() as session:
        ItemRepository(session).upsert_many(CHAIN, task_id, items)
        ParticipationRepository(session).record(
            CHAIN,
            task_id,
            ParticipationState.JOINED,
            title=f"A {kind} task",
            instructions="Label each item.",
            kind=kind,
            classes=classes,
        )


def open_task(served: Served, page: Page, kind: str) -> None:
    page.goto(f"{served.url}/ui/#token={served.token}")
    page.get_by_role("link", name=f"Label A {kind} task").click()


def stored(served: Served, task_id: int, kind: TaskKind, classes: tuple[str, ...]) -> object:
    """The node's labels, each first checked by the protocol (canonical and valid)."""
    labels = served.labels(task_id)
    for value in labels.values():
        check_value(kind, classes, cast(JsonValue, value), AnnotationParams(kind))
    return labels


def all_saved(page: Page) -> None:
    expect(page.get_by_role("heading", name="All items labelled")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="All changes saved")).to_be_visible()


def fits(page: Page) -> None:
    """Nothing wider than the viewport: no sideways scrolling at phone width."""
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")


def expect_item(page: Page, item_id: str) -> None:
    expect(page.locator(".item-id")).to_have_text(f"id {item_id}")


# ---------------------------------------------------------------- boxes

WIDTH, HEIGHT = 200, 120
BOX_CLASSES = ("car", "person", "sign")


def road(x: int, y: int) -> tuple[int, int, int]:
    """A grey road with a red car at [20, 30, 80, 90): 200 x 120, not square, so a mix-up of
    the axes would show."""
    return (200, 30, 30) if 20 <= x < 80 and 30 <= y < 90 else (120, 130, 140)


def screen(page: Page, x: int, y: int) -> tuple[float, float]:
    """Where image pixel (x, y) is on the screen, at the page's zoom and CSS scale."""
    rect = page.get_by_test_id("box-canvas").bounding_box()
    assert rect is not None
    return rect["x"] + x * rect["width"] / WIDTH, rect["y"] + y * rect["height"] / HEIGHT


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=5)
    page.mouse.up()


def draw(page: Page, x0: int, y0: int, x1: int, y1: int) -> None:
    drag(page, screen(page, x0, y0), screen(page, x1, y1))


def image_ready(page: Page) -> None:
    page.wait_for_function(
        "() => document.querySelector('.box-image')?.naturalWidth > 0"
        " && document.querySelector('.box-stage').style.width !== ''"
    )
    # Wholly in view: a pixel outside the viewport cannot be pressed.
    page.get_by_test_id("box-canvas").evaluate("e => e.scrollIntoView({block: 'center'})")


def test_boxes_are_drawn_moved_resized_and_saved_in_image_pixels(
    served: Served, page: Page, screenshots: Path
) -> None:
    picture = _png(WIDTH, road, height=HEIGHT)
    cid = served.services.store.put(picture)
    items = [ItemCreate(item_id=f"b{n}", position=n, content_cid=cid) for n in (1, 2)]
    join(served, 11, "boxes", BOX_CLASSES, items)
    open_task(served, page, "boxes")
    expect_item(page, "b1")
    image_ready(page)
    boxes = page.get_by_role("list", name="Boxes")

    draw(page, 20, 30, 80, 90)  # the car, drawn in the default class
    expect(boxes).to_contain_text("1. car [20, 30, 80, 90]")
    page.keyboard.press("2")  # the selected box becomes a person
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowDown"):
        page.keyboard.press(key)
    expect(boxes).to_contain_text("1. person [23, 31, 83, 91]")
    page.keyboard.press("Escape")
    page.get_by_role("group", name="Box class").get_by_role("button", name="sign").click()

    page.keyboard.press("+")
    page.keyboard.press("+")  # 200 %: the middle of the image fills the view
    expect(page.locator(".zoom-text")).to_have_text("200%")
    stage = page.locator(".box-stage")
    scrolled = stage.evaluate("e => e.scrollLeft")
    page.get_by_role("button", name="Pan").click()
    x, y = screen(page, 100, 60)
    drag(page, (x, y), (x - 30, y))  # pans the view, draws nothing
    assert abs(stage.evaluate("e => e.scrollLeft") - (scrolled + 30)) < 1
    drag(page, (x - 30, y), (x, y))
    page.get_by_role("button", name="Pan").click()
    assert abs(stage.evaluate("e => e.scrollLeft") - scrolled) < 1
    expect(boxes.get_by_role("listitem")).to_have_count(1)
    draw(page, 90, 35, 130, 70)
    expect(boxes).to_contain_text("2. sign [90, 35, 130, 70]")
    handle = page.locator(".box.selected .handle.se").bounding_box()
    assert handle is not None
    drag(
        page,
        (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2),
        screen(page, 140, 85),
    )
    expect(boxes).to_contain_text("2. sign [90, 35, 140, 85]")

    page.keyboard.press("0")  # fit again
    draw(page, 150, 10, 190, 50)
    expect(boxes).to_contain_text("3. sign [150, 10, 190, 50]")
    page.keyboard.press("Delete")
    expect(boxes).not_to_contain_text("[150, 10, 190, 50]")
    draw(page, 5, 5, 15, 20)
    page.keyboard.press("1")
    expect(boxes).to_contain_text("3. car [5, 5, 15, 20]")
    page.screenshot(path=screenshots / "11-boxes.png", full_page=True)
    page.keyboard.press("Enter")

    expect_item(page, "b2")
    page.set_viewport_size(PHONE)
    image_ready(page)
    draw(page, 100, 20, 160, 100)
    page.get_by_role("button", name="Remove box 1").click()
    expect(boxes).to_contain_text("No boxes")
    image_ready(page)
    draw(page, 10, 10, 50, 50)
    page.get_by_role("group", name="Box class").get_by_role("button", name="person").click()
    expect(boxes).to_contain_text("1. person [10, 10, 50, 50]")
    page.keyboard.down("Shift")  # a drag from inside a box draws a new one (else: moves it)
    draw(page, 20, 20, 40, 40)
    page.keyboard.up("Shift")
    expect(boxes).to_contain_text("2. person [20, 20, 40, 40]")
    page.keyboard.press("Backspace")  # removes the selected box (with none: back an item)
    expect(boxes.get_by_role("listitem")).to_have_count(1)
    fits(page)
    page.screenshot(path=screenshots / "11-boxes-phone.png", full_page=True)
    page.get_by_role("button", name="Save boxes (Enter)").click()

    all_saved(page)
    assert stored(served, 11, TaskKind.BOXES, BOX_CLASSES) == {
        "b1": [[5, 5, 15, 20, "car"], [23, 31, 83, 91, "person"], [90, 35, 140, 85, "sign"]],
        "b2": [[10, 10, 50, 50, "person"]],
    }


# ---------------------------------------------------------------- spans

SPAN_CLASSES = ("PER", "LOC")
STORY = "Ana 🙂 met Zoë in Zürich 🇨🇭 today."
PARTY = "🎉🎉 Paris"


def drag_over(page: Page, word: str) -> None:
    """Select the first ``word`` of the item's text with the mouse, edge to edge."""
    edges = page.evaluate(
        """(word) => {
          const walker = document.createTreeWalker(
            document.querySelector('.span-text'), NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const at = node.data.indexOf(word);
            if (at < 0) continue;
            const rect = (from, to) => {
              const range = document.createRange();
              range.setStart(node, from);
              range.setEnd(node, to);
              return range.getBoundingClientRect();
            };
            const first = rect(at, at + 1), last = rect(at + word.length - 1, at + word.length);
            return [first.left + 1, first.top + first.height / 2,
                    last.right - 1, last.top + last.height / 2];
          }
          return null;
        }""",
        word,
    )
    assert edges is not None, word
    drag(page, (edges[0], edges[1]), (edges[2], edges[3]))


def span(text: str, word: str, name: str) -> list[JsonValue]:
    """The span of ``word`` in code points (Python's str offsets)."""
    start = text.index(word)
    return [start, start + len(word), name]


def test_spans_are_marked_by_mouse_and_keyboard_in_code_points(
    served: Served, page: Page, screenshots: Path
) -> None:
    items = [
        ItemCreate(item_id="s1", position=0, data={"text": STORY}),
        ItemCreate(item_id="s2", position=1, data=PARTY),
    ]
    join(served, 12, "spans", SPAN_CLASSES, items)
    open_task(served, page, "spans")
    expect_item(page, "s1")
    text = page.locator(".span-text")
    spans = page.get_by_role("list", name="Spans")

    text.focus()
    page.keyboard.press("Home")
    page.keyboard.press("Control+Shift+ArrowRight")  # "Ana"
    page.keyboard.press("1")
    expect(spans).to_contain_text("1. PER «Ana» [0, 3)")
    drag_over(page, "Zürich")
    page.keyboard.press("2")
    drag_over(page, "Zoë")
    page.get_by_role("group", name="Span class").get_by_role("button", name="PER").click()
    drag_over(page, "today")
    page.keyboard.press("1")  # a mistake, removed by mouse
    page.get_by_role("button", name="Remove span 4").click()
    drag_over(page, "met")
    page.keyboard.press("2")  # another, removed by keyboard
    expect(spans).to_contain_text("«met»")
    drag_over(page, "met")
    page.keyboard.press("Delete")
    expect(spans).not_to_contain_text("«met»")
    expect(spans).to_contain_text(f"LOC «Zürich» [{STORY.index('Zürich')}, ")
    expect(text.locator("mark")).to_have_count(3)
    page.screenshot(path=screenshots / "12-spans.png", full_page=True)
    page.keyboard.press("Enter")

    expect_item(page, "s2")
    page.set_viewport_size(PHONE)
    text.focus()
    page.keyboard.press("Home")
    for _ in range(3):  # two emoji (two UTF-16 units each) and a space: three characters
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+End")
    page.keyboard.press("2")
    expect(spans).to_contain_text("1. LOC «Paris» [3, 8)")
    fits(page)
    page.screenshot(path=screenshots / "12-spans-phone.png", full_page=True)
    page.keyboard.press("Enter")

    all_saved(page)
    assert stored(served, 12, TaskKind.SPANS, SPAN_CLASSES) == {
        "s1": [
            span(STORY, "Ana", "PER"),
            span(STORY, "Zoë", "PER"),
            span(STORY, "Zürich", "LOC"),
        ],
        "s2": [[3, 8, "LOC"]],
    }


# ---------------------------------------------------------------- text


def test_text_answers_are_typed_saved_with_ctrl_enter_and_sent_in_nfc(
    served: Served, page: Page, screenshots: Path
) -> None:
    sign = served.services.store.put(
        _png(
            80,
            lambda x, y: (30, 30, 30) if 12 <= y < 28 and x % 9 < 5 else (250, 250, 250),
            height=40,
        )
    )
    items = [
        ItemCreate(item_id="t1", position=0, content_cid=sign),
        ItemCreate(item_id="t2", position=1, data={"text": "Say hello in French."}),
    ]
    join(served, 13, "text", (), items)
    open_task(served, page, "text")
    expect_item(page, "t1")
    answer = page.get_by_label("Your answer")
    expect(answer).to_be_focused()
    page.keyboard.insert_text("Cafe\u0301 au lait")  # e + a combining acute: not NFC
    page.keyboard.press("Enter")  # a new line, not a save
    page.keyboard.type("room 2")
    page.keyboard.press("Backspace")  # edits the text, does not go back an item
    page.keyboard.type("1")  # a digit is text here, not a class
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("End")
    expect_item(page, "t1")
    page.screenshot(path=screenshots / "13-text.png", full_page=True)
    page.keyboard.press("Control+Enter")

    expect_item(page, "t2")
    page.set_viewport_size(PHONE)
    expect(page.locator(".item-text")).to_have_text("Say hello in French.")
    answer.fill("   ")
    page.get_by_role("button", name="Save (Ctrl+Enter)").click()
    expect(page.get_by_role("status").filter(has_text="Type an answer")).to_be_visible()
    expect_item(page, "t2")
    answer.fill("Bonjour !")
    fits(page)
    page.screenshot(path=screenshots / "13-text-phone.png", full_page=True)
    page.get_by_role("button", name="Save (Ctrl+Enter)").click()

    all_saved(page)
    labels = stored(served, 13, TaskKind.TEXT, ())
    assert labels == {"t1": "Caf\u00e9 au lait\nroom 1", "t2": "Bonjour !"}


# ---------------------------------------------------------------- pairwise


def test_pairwise_shows_both_responses_and_takes_a_b_or_tie(
    served: Served, page: Page, screenshots: Path
) -> None:
    store = served.services.store
    paris = store.put(b"Paris is the capital of France.")
    lyon = store.put(b'"The capital is Lyon."')  # a JSON string: shown as its text
    haiku_a = store.put(b"An old silent pond\nA frog jumps into the pond\nSplash! Silence again.")
    drawing = store.put(_png(60, lambda x, y: (250, 204, 21), height=30))  # not UTF-8: an image
    haiku_b = store.put(b'{"text": "Autumn moonlight\\na worm digs silently\\ninto the chestnut."}')
    items = [
        ItemCreate(
            item_id="p1",
            position=0,
            data={"prompt": "What is the capital of France?", "a": paris, "b": lyon},
        ),
        ItemCreate(
            item_id="p2", position=1, data={"prompt": "Write a haiku.", "a": haiku_a, "b": haiku_b}
        ),
        ItemCreate(item_id="p3", position=2, data={"a": drawing, "b": paris}),
    ]
    join(served, 14, "pairwise", (), items)
    open_task(served, page, "pairwise")
    expect_item(page, "p1")
    side_a = page.get_by_role("region", name="Response A")
    side_b = page.get_by_role("region", name="Response B")
    expect(side_a).to_contain_text("Paris is the capital of France.")
    expect(side_b.locator(".side-text")).to_have_text("The capital is Lyon.")
    page.screenshot(path=screenshots / "14-pairwise.png", full_page=True)
    page.keyboard.press("b")

    expect_item(page, "p2")
    expect(side_b).to_contain_text("a worm digs silently")
    page.get_by_role("button", name="Tie").click()
    expect_item(page, "p3")
    page.keyboard.press("ArrowLeft")  # back to p2 (undo): its choice is shown
    expect_item(page, "p2")
    expect(page.get_by_role("button", name="Tie")).to_have_attribute("aria-pressed", "true")
    page.set_viewport_size(PHONE)
    expect(side_a).to_contain_text("An old silent pond")
    a_box, b_box = side_a.bounding_box(), side_b.bounding_box()
    assert a_box is not None and b_box is not None
    assert b_box["y"] >= a_box["y"] + a_box["height"]  # stacked at phone width
    fits(page)
    page.screenshot(path=screenshots / "14-pairwise-phone.png", full_page=True)
    page.keyboard.press("a")

    expect_item(page, "p3")  # where the undo left off
    page.wait_for_function("() => document.querySelector('.side-image')?.naturalWidth === 60")
    page.keyboard.press("t")
    all_saved(page)
    assert stored(served, 14, TaskKind.PAIRWISE, ()) == {"p1": "B", "p2": "A", "p3": "tie"}


# ---------------------------------------------------------------- the canonical spelling


def test_the_page_spells_values_as_the_protocol_does(served: Served, page: Page) -> None:
    """canonical.js against node/protocol/annotation.py on the cases where JavaScript's own
    order or counting differs from Python's: class names past the BMP (UTF-16 sorts them
    before U+FF5E, code points after), emoji offsets, text not in NFC."""
    classes = ("\uff5e", "😀", "a")
    boxes: list[JsonValue] = [
        [5, 5, 9, 9, "😀"],
        [5, 5, 9, 9, "\uff5e"],
        [1, 2, 3, 4, "a"],
        [1, 2, 3, 40, "a"],
    ]
    spans: list[JsonValue] = [[4, 6, "😀"], [4, 6, "\uff5e"], [0, 2, "a"], [2, 3, "a"]]
    text = "a🙂b🇨🇭c\u00e9"
    units = [len(text[:i].encode("utf-16-le")) // 2 for i in range(len(text) + 1)]
    page.goto(f"{served.url}/ui/")
    seen = page.evaluate(
        """async ([boxes, spans, text, units, loose]) => {
          const m = await import('/ui/assets/canonical.js');
          return {
            boxes: m.canonicalEntries(boxes),
            repeated: m.canonicalEntries([...boxes, boxes[0]]),
            spans: m.canonicalEntries(spans),
            points: units.map((u) => m.cpOffset(text, u)),
            units: units.map((_, i) => m.unitOffset(text, i)),
            nfc: m.canonicalText(loose),
          };
        }""",
        [boxes, spans, text, units, "Cafe\u0301"],
    )
    expected_boxes = canonical_value(TaskKind.BOXES, boxes)
    assert seen["boxes"] == expected_boxes == seen["repeated"]
    assert [box[-1] for box in seen["boxes"][2:]] == ["\uff5e", "😀"]
    assert seen["spans"] == canonical_value(TaskKind.SPANS, spans)
    for kind, value in ((TaskKind.BOXES, seen["boxes"]), (TaskKind.SPANS, seen["spans"])):
        check_value(kind, classes, value, AnnotationParams(kind))
    assert seen["points"] == list(range(len(text) + 1))
    assert seen["units"] == units
    assert seen["nfc"] == canonical_value(TaskKind.TEXT, "Cafe\u0301") == "Caf\u00e9"
