"""A routine rendered as one self-contained HTML page for review."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from samverkan_rules.i18n import Translator, translator

if TYPE_CHECKING:
    from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.text.document import _Block, _Builder, _Field, _Heading, _List, _Para, _Table
from samverkan_rules.text.markdown import _CODE

_CSS = """\
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;\
line-height:1.45;color:#222}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;margin-top:2rem}h3{margin-top:1.6rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3rem .5rem;\
text-align:left;vertical-align:top}th{background:#f2f2f2}
code{background:#f4f4f4;padding:0 .2rem}
blockquote{border-left:4px solid #7a9cc6;margin:.5rem 0;padding:.2rem 1rem;background:#f5f8fc}
blockquote footer{font-size:.9rem;color:#555}
p.interpretation{border-left:4px solid #d9a400;background:#fff8e1;padding:.3rem .8rem}"""


def _inline(text: str) -> str:
    """Escape text for HTML, then turn `ids` into <code>."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text))


def _html_block(block: _Block) -> str:
    if isinstance(block, _Heading):
        return f"<h{block.level}>{_inline(block.text)}</h{block.level}>"
    if isinstance(block, _Field):
        cls = ' class="interpretation"' if block.note else ""
        mark = "⚠ " if block.note else ""
        return (
            f"<p{cls}>{mark}<strong>{html.escape(block.label)}:</strong> "
            f"{_inline(block.value)}</p>".replace(" </p>", "</p>")
        )
    if isinstance(block, _Para):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, _Table):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
        rows = "\n".join(
            "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in block.rows
        )
        return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"
    if isinstance(block, _List):
        items = "\n".join(f"<li>{_inline(item)}</li>" for item in block.items)
        return f"<ul>\n{items}\n</ul>"
    return (
        f"<blockquote><p>{html.escape(block.text.strip())}</p>"
        f"<footer>— {html.escape(block.cite)}</footer></blockquote>"
    )


def render_html(routine: CompiledRoutine, t: Translator | None = None) -> str:
    """The same content as :func:`render_markdown`, as one self-contained HTML page.

    Every text from the routine is escaped; only the page's own markup is HTML.
    """
    t = t or translator()
    blocks = _Builder(routine, t).build()
    title = html.escape(routine.routine.title)
    body = "\n".join(_html_block(b) for b in blocks)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{t.language}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )
