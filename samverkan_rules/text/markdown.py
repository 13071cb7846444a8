"""A routine rendered as Markdown for review."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from samverkan_rules.i18n import Translator, translator

if TYPE_CHECKING:
    from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.text.document import _Block, _Builder, _Field, _Heading, _List, _Para, _Table

_CODE = re.compile(r"`([^`]+)`")


# '<' opens a tag and '&' an entity; '>' alone does neither, so "a -> b" stays readable.
_MD_SPECIAL = re.compile(r"[&<]")


_MD_ENTITIES = {"&": "&amp;", "<": "&lt;"}


def _md(text: str) -> str:
    """Text for Markdown with HTML shown, not passed through: ``&`` and ``<`` become
    entities outside `code spans` (inside them Markdown shows everything as written).

    Examples:
        >>> _md("<script>alert(1)</script> & a -> b i `<kod>`")
        '&lt;script>alert(1)&lt;/script> &amp; a -> b i `<kod>`'
    """
    out: list[str] = []
    last = 0
    for code in _CODE.finditer(text):
        out.append(_MD_SPECIAL.sub(lambda m: _MD_ENTITIES[m.group()], text[last : code.start()]))
        out.append(code.group())
        last = code.end()
    out.append(_MD_SPECIAL.sub(lambda m: _MD_ENTITIES[m.group()], text[last:]))
    return "".join(out)


def _md_cell(text: str) -> str:
    return _md(" ".join(text.split())).replace("|", "\\|")


def _md_block(block: _Block) -> str:
    if isinstance(block, _Heading):
        return "#" * block.level + " " + _md(" ".join(block.text.split()))
    if isinstance(block, _Field):
        line = f"**{_md(block.label)}:** {_md(' '.join(block.value.split()))}".rstrip()
        return f"> ⚠ {line}" if block.note else line
    if isinstance(block, _Para):
        return _md(block.text)
    if isinstance(block, _Table):
        lines = [
            "| " + " | ".join(_md_cell(h) for h in block.headers) + " |",
            "|" + "|".join("---" for _ in block.headers) + "|",
        ]
        lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows)
        return "\n".join(lines)
    if isinstance(block, _List):
        return "\n".join("- " + _md(" ".join(item.split())) for item in block.items)
    quote = [f"> {_md(line)}".rstrip() for line in block.text.strip().splitlines()]
    return "\n".join([*quote, ">", f"> — {_md(block.cite)}"])


def render_markdown(routine: CompiledRoutine, t: Translator | None = None) -> str:
    """The routine as Markdown; deterministic, ending in one newline.

    Args:
        routine: The compiled routine.
        t: The reader's language (default Swedish); the routine's own words stay as written.
    """
    blocks = _Builder(routine, t or translator()).build()
    return "\n\n".join(_md_block(b) for b in blocks) + "\n"
