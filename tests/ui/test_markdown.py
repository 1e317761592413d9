"""The instructions renderer: the markdown subset it promises, and nothing a page could run.

The safety tests parse the output as a browser would and check every element and attribute
against the short list the renderer may produce, for known XSS payloads and for random text
made of the characters markup is built from.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.ui.markdown import render_markdown

ALLOWED_TAGS = {"h1", "h2", "h3", "p", "ul", "ol", "li", "pre", "code", "strong", "em", "a"}
LINK_ATTRIBUTES = {"href", "rel", "target"}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def assert_safe(html: str) -> None:
    for tag, attributes in elements(html):
        assert tag in ALLOWED_TAGS, f"<{tag}> in {html!r}"
        if tag == "a":
            assert set(attributes) == LINK_ATTRIBUTES, html
            href = attributes["href"] or ""
            assert href.startswith(("http://", "https://")), html
            assert not set(href) & set(" <>\"'`"), html
            assert attributes["rel"] == "noopener noreferrer nofollow"
        else:
            assert attributes == {}, f"<{tag}> with attributes in {html!r}"


def test_renders_the_documented_subset() -> None:
    source = (
        "# Title\n\nSome **bold** and *italic* and _also italic_ text with `code`.\n"
        "\n- one\n- two\n\n1. first\n2. second\n\n"
        "```\nraw <b>block</b>\n```\n"
        "See [the guide](https://example.org/guide?a=1&b=2)."
    )
    assert render_markdown(source) == (
        "<h1>Title</h1>\n"
        "<p>Some <strong>bold</strong> and <em>italic</em> and <em>also italic</em> text with "
        "<code>code</code>.</p>\n"
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        "<ol>\n<li>first</li>\n<li>second</li>\n</ol>\n"
        "<pre><code>raw &lt;b&gt;block&lt;/b&gt;</code></pre>\n"
        '<p>See <a href="https://example.org/guide?a=1&amp;b=2" '
        'rel="noopener noreferrer nofollow" target="_blank">the guide</a>.</p>'
    )


def test_deep_headings_stay_at_level_three_and_lines_join_into_paragraphs() -> None:
    assert render_markdown("##### Small\nline one\nline two") == (
        "<h3>Small</h3>\n<p>line one line two</p>"
    )


def test_code_spans_show_markup_literally() -> None:
    assert render_markdown("`**not bold** [x](https://a.b)`") == (
        "<p><code>**not bold** [x](https://a.b)</code></p>"
    )


def test_snake_case_words_are_not_emphasis() -> None:
    assert render_markdown("use item_id and user_name") == "<p>use item_id and user_name</p>"


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox(1))",
        '[x](https://a.b/"onmouseover="alert(1))',
        "[x](https://a.b/'onmouseover='alert(1))",
        "[x](https://a.b/><script>alert(1)</script>)",
        "[<img src=x onerror=alert(1)>](https://a.b)",
        "**<svg onload=alert(1)>**",
        "# <iframe src=//evil>",
        "- <style>*{display:none}</style>",
        "```\n</code></pre><script>alert(1)</script>\n```",
        "`</code><script>alert(1)</script>`",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "\x000\x00 placeholder forgery \x001\x00",
        "<scr<script>ipt>alert(1)</script>",
        "[a](https://x.y)[b](javascript:1)",
    ],
)
def test_xss_payloads_render_as_text(payload: str) -> None:
    html = render_markdown(payload)
    assert_safe(html)
    assert "<script" not in html.lower()


def test_a_javascript_link_stays_literal_text() -> None:
    html = render_markdown("[click](javascript:alert(1))")
    assert elements(html) == [("p", {})]
    assert "javascript:alert(1)" in html  # shown, never a link


MARKUP = st.lists(
    st.sampled_from([*"<>\"'`&=/:#*_-[]()!\n abcjsx1.", "javascript:", "https://", "\x00"]),
    max_size=80,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(MARKUP)
def test_random_markup_never_yields_an_unlisted_element_or_attribute(source: str) -> None:
    assert_safe(render_markdown(source))
