"""The README stays short, its links into the site lead to pages of it, and its example
prints what it shows.

The README is the front page: what the project is, the two commands for a fresh machine,
one example, the benchmark figures, the dependencies and links into ``docs/``. Everything
else lives in the site, so the README is held to at most 150 lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.pages import DOCS, ROOT, blocks
from tests.docs.test_examples import _Page

README = ROOT / "README.md"
MAX_LINES = 150
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def _nav_pages() -> set[str]:
    """Every page named in mkdocs.yml's navigation, relative to ``docs/``."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text.split("\nnav:\n", 1)[1]
    return set(re.findall(r"([\w./-]+\.md)\s*$", nav, flags=re.MULTILINE))


def test_the_readme_has_at_most_150_lines() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines, at most {MAX_LINES}"


def test_every_docs_link_of_the_readme_is_a_page_of_the_site() -> None:
    targets = [m["target"] for m in _LINK.finditer(README.read_text(encoding="utf-8"))]
    docs_links = [t.split("#", 1)[0] for t in targets if t.startswith("docs/")]
    assert len(docs_links) >= 10, docs_links
    nav = _nav_pages()
    for link in docs_links:
        page = ROOT / link
        assert page.is_file(), f"README.md links to {link}, which does not exist"
        assert page.relative_to(DOCS).as_posix() in nav, f"{link} is not in mkdocs.yml's nav"


def test_the_nav_reader_finds_pages_and_a_broken_link_would_fail() -> None:
    nav = _nav_pages()
    assert {"index.md", "how-to/monthly-audit.md", "reference/service.md"} <= nav
    assert not (ROOT / "docs/reference/no-such-page.md").is_file()


def test_the_readme_example_prints_what_it_shows(tmp_path: Path) -> None:
    runs = [b for b in blocks(README) if b.marker == "run"]
    assert runs, "the README's example is a <!-- run --> console block"
    page = _Page(README, tmp_path)
    try:
        for block in runs:
            page.run(block)
    finally:
        page.stop()


@pytest.mark.parametrize("command", ["samverkan due ", "python -m pytest"])
def test_the_two_commands_for_a_fresh_machine_are_there(command: str) -> None:
    text = README.read_text(encoding="utf-8")
    fresh = "python3 -m venv .venv && . .venv/bin/activate && pip install -e "
    assert any(line.startswith(fresh) and command in line for line in text.splitlines())
