"""The documentation's examples, read from its Markdown pages.

A fenced block is an example of a kind the tests know by the HTML comment on the line
before it (a comment Markdown does not show):

- ``<!-- file: NAME -->``: the block's text is a file the reader creates; it is written to
  NAME in the page's working folder before the commands after it run.
- ``<!-- run -->`` on a ``console`` block: each line starting with ``$ `` is a command run
  in the page's working folder, and the lines up to the next command are its output, which
  must be what the command prints. ``$ export NAME=VALUE`` sets a variable for the later
  commands of the page.
- ``<!-- background -->`` on a ``console`` block of one command: the command starts and
  keeps running (a server) while the page's later commands run; it is stopped at the end.
- ``<!-- fragment -->`` on a ``yaml`` block: a part of a routine, only parsed.

A page's ``<!-- needs: MODULE, ... -->`` names the modules its examples need (an extra's):
without one, its examples are skipped on a developer's machine and fail in CI.

Every other ``yaml`` block with ``rules`` is a routine and is validated; every ``python``
block is executed in the page's working folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CHECKED_ELSEWHERE = {DOCS / "routine-language.md": "tests/test_docs_language.py"}
"""Pages whose YAML blocks are excerpts of tested files, each checked by its own test."""

_FENCE = re.compile(
    r"^(?:<!--\s*(?P<marker>[a-z]+)(?::\s*(?P<arg>[^ ]+?))?\s*-->\n)?"
    r"(?P<fence>```+)(?P<lang>[a-z]*)[^\n]*\n(?P<body>.*?)^(?P=fence)\s*$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    """One fenced block of a page, with its marker."""

    page: Path
    line: int
    lang: str
    marker: str | None
    arg: str | None
    body: str

    @property
    def where(self) -> str:
        """``docs/…/page.md:LINE`` for messages."""
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"


@dataclass(frozen=True)
class Command:
    """A ``$ command`` of a run block and the output the page shows for it."""

    command: str
    output: str


def pages() -> list[Path]:
    """Every Markdown page of the site whose examples these tests check, in a stable order."""
    return sorted(
        p for p in DOCS.rglob("*.md") if "_hooks" not in p.parts and p not in CHECKED_ELSEWHERE
    )


_NEEDS = re.compile(r"^<!--\s*needs:\s*(?P<modules>[\w., ]+?)\s*-->$", re.MULTILINE)


def needs(page: Path) -> list[str]:
    """The modules a page's examples need, from its ``<!-- needs: ... -->`` comments."""
    text = page.read_text(encoding="utf-8")
    return [m.strip() for found in _NEEDS.finditer(text) for m in found["modules"].split(",")]


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page`` in the order they appear."""
    text = page.read_text(encoding="utf-8")
    found = []
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start("fence")) + 1
        found.append(Block(page, line, m["lang"], m["marker"], m["arg"], m["body"]))
    return found


def commands(block: Block) -> list[Command]:
    """The commands of a console block, each with the output shown after it."""
    found: list[Command] = []
    command: str | None = None
    output: list[str] = []
    for line in block.body.splitlines():
        if line.startswith("$ "):
            if command is not None:
                found.append(Command(command, "\n".join(output)))
            command, output = line[2:], []
        elif command is None:
            raise AssertionError(f"{block.where}: output before the first '$ ' command")
        else:
            output.append(line)
    if command is not None:
        found.append(Command(command, "\n".join(output)))
    return found
