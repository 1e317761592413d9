"""A safe markdown subset for task instructions, rendered to HTML on the node.

Instructions come from a requester's manifest: untrusted text that the labeling page shows
to the annotator whose node holds the API token. So the renderer escapes *everything*
first and only then recognises a small, fixed set of constructs on the escaped text:

* headings (``#`` to ``###``; deeper levels render as ``###``), paragraphs;
* ``-``/``*`` bullet lists and ``1.`` numbered lists (one level);
* fenced code blocks (```` ``` ````) and inline ``code``;
* ``**strong**`` and ``*emphasis*`` / ``_emphasis_``;
* links ``[text](https://...)`` with an ``http``/``https`` URL only; any other scheme
  (``javascript:``, ``data:``) stays literal text.

No raw HTML passes through, and since every ``<``, ``>``, ``"`` and ``'`` is already an
entity when the patterns run, nothing a pattern captures can open a tag or leave an
attribute. The page also runs under ``Content-Security-Policy: default-src 'self'``, so
even a bug here could not run an inline script.
"""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,9}[.)]\s+(.*)$")
_FENCE = re.compile(r"^\s*```")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\[\]\n]+)\]\((https?://[^\s()]+)\)")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_EMPHASIS = re.compile(
    r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])|(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"
)
_PLACEHOLDER = "\x00{}\x00"


def _inline(escaped: str) -> str:
    """Inline markup on already-escaped text; code spans are set aside first so that
    their contents are shown literally."""
    spans: list[str] = []

    def keep(html_text: str) -> str:
        spans.append(html_text)
        return _PLACEHOLDER.format(len(spans) - 1)

    text = _CODE_SPAN.sub(lambda m: keep(f"<code>{m.group(1)}</code>"), escaped)
    text = _LINK.sub(
        lambda m: keep(
            f'<a href="{m.group(2)}" rel="noopener noreferrer nofollow" target="_blank">'
            f"{m.group(1)}</a>"
        ),
        text,
    )
    text = _STRONG.sub(r"<strong>\1</strong>", text)
    text = _EMPHASIS.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", text)
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], text)


def render_markdown(source: str) -> str:
    """HTML for ``source`` (see the module docstring for what is recognised)."""
    # \x00 is our placeholder marker; it has no business in instructions anyway.
    lines = html.escape(source.replace("\x00", ""), quote=True).splitlines()
    out: list[str] = []
    paragraph: list[str] = []
    list_tag: str | None = None

    def close_paragraph() -> None:
        if paragraph:
            out.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    def close_list() -> None:
        nonlocal list_tag
        if list_tag is not None:
            out.append(f"</{list_tag}>")
            list_tag = None

    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if _FENCE.match(line):
            close_paragraph()
            close_list()
            code: list[str] = []
            while index < len(lines) and not _FENCE.match(lines[index]):
                code.append(lines[index])
                index += 1
            index += 1  # the closing fence (or the end of the text)
            out.append("<pre><code>" + "\n".join(code) + "</code></pre>")
            continue
        if not line.strip():
            close_paragraph()
            close_list()
            continue
        heading = _HEADING.match(line)
        if heading:
            close_paragraph()
            close_list()
            level = min(len(heading.group(1)), 3)
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            continue
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        if bullet or numbered:
            close_paragraph()
            tag = "ul" if bullet else "ol"
            if list_tag != tag:
                close_list()
                out.append(f"<{tag}>")
                list_tag = tag
            entry = bullet or numbered
            assert entry is not None
            out.append(f"<li>{_inline(entry.group(1))}</li>")
            continue
        close_list()
        paragraph.append(line.strip())
    close_paragraph()
    close_list()
    return "\n".join(out)
