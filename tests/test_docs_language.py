"""The routine language reference (``docs/routine-language.md``) stays true.

Every YAML block of a worked example is marked ``<!-- excerpt: <path> -->``: its lines must
appear, in order and with the same relative indentation, in that file, so the page quotes
what the test suite runs. The scenario files it quotes from must pass.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from samverkan_rules import load_routine
from samverkan_rules.scenarios.check import run_scenario
from samverkan_rules.scenarios.load import load_scenario_file
from tests.support import ROOT

PAGE = ROOT / "docs" / "routine-language.md"
EXCERPT = re.compile(r"<!-- excerpt: (?P<path>\S+) -->\n```yaml\n(?P<body>.*?)```", re.DOTALL)
EXCERPTS = [(m["path"], m["body"]) for m in EXCERPT.finditer(PAGE.read_text(encoding="utf-8"))]
CONSTRUCTS = {
    "before:": "`before`",
    "at: {working_day:": "`at.working_day`",
    "referred.data.": "`referred.data.<name>`",
    "every: dates": "`every: dates`",
}
"""What a worked example of each construct writes, and how the page names the construct."""


def _contains(text: str, excerpt: str) -> bool:
    """True when ``excerpt``'s lines are consecutive lines of ``text``, indented alike."""
    want = textwrap.dedent(excerpt).splitlines()
    lines = text.splitlines()
    for start in range(len(lines) - len(want) + 1):
        if textwrap.dedent("\n".join(lines[start : start + len(want)])).splitlines() == want:
            return True
    return False


def test_each_construct_has_a_worked_example() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert len(EXCERPTS) >= 8
    for written, named in CONSTRUCTS.items():
        assert any(written in body for _, body in EXCERPTS), written
        assert named in page, named


@pytest.mark.parametrize(
    ("path", "body"), EXCERPTS, ids=[f"{p}:{i}" for i, (p, _) in enumerate(EXCERPTS)]
)
def test_an_excerpt_is_in_its_file(path: str, body: str) -> None:
    source = (ROOT / path).read_text(encoding="utf-8")
    assert _contains(source, body), f"{path} no longer holds:\n{body}"


def test_the_excerpt_check_can_fail() -> None:
    assert _contains("a:\n  b: 1\n  c: 2\n", "b: 1\nc: 2\n")
    assert not _contains("a:\n  b: 1\n  c: 2\n", "b: 1\n  c: 2\n")
    assert not _contains("a:\n  b: 1\n", "b: 2\n")


@pytest.mark.parametrize(
    "path", sorted({p for p, _ in EXCERPTS if "tests/" in p and "scenarios" in Path(p).name})
)
def test_the_quoted_scenarios_pass(path: str) -> None:
    scenarios = load_scenario_file(ROOT / path)
    routine = load_routine(scenarios.routine_path)
    for scenario in scenarios.scenarios:
        result = run_scenario(scenario, routine)
        assert result.verdict == "passed", result.message
