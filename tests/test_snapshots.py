"""What staff read, compared with approved snapshots under ``tests/snapshots/``.

Each case runs the CLI as a user does (``python -m samverkan_rules ...`` in the repository)
on the bundled example data at a fixed instant, and compares its text with a plain ``.txt``
file. A change of wording, order or layout then shows up as a diff a reviewer reads, and is
accepted by writing the snapshots again::

    SAMVERKAN_APPROVE=1 python -m pytest tests/test_snapshots.py

and committing the changed files with the change that caused them.
"""

from __future__ import annotations

import base64
import difflib
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import samverkan_rules
from tests.support import ROOT

SNAPSHOTS = ROOT / "tests" / "snapshots"
APPROVE = "SAMVERKAN_APPROVE"
HINT = f"{APPROVE}=1 python -m pytest tests/test_snapshots.py"

ROUTINE = "routines/orebro-dagverksamhet-hemvard.yaml"
EVENTS = "examples/orebro-case.jsonl"
AS_OF = "2026-12-15T12:00:00+01:00"
CASE = ("--routine", ROUTINE, "--events", EVENTS, "--as-of", AS_OF)

RUNS: dict[str, tuple[str, ...]] = {
    "due-orebro": ("due", *CASE),
    "explain-orebro-overdue": ("explain", *CASE, "planning-updated:e12"),
    "explain-orebro-blocked": ("explain", *CASE, "first-contact-from-dagverksamhet:e24"),
    "explain-orebro-from-planned-start": ("explain", *CASE, "start-message:e06"),
    "render-orebro": ("render", ROUTINE),
}
"""Snapshot name -> the CLI's arguments."""

AUDIT = "audit-orebro-2025"
AUDIT_ARGS = (
    "audit",
    "--routines",
    "routines",
    "--id",
    "orebro-dagverksamhet-hemvard",
    "--events",
    "examples/audit",
    "--from",
    "2025-01-01",
    "--to",
    "2025-12-31",
)
AUDIT_KEY = base64.b64encode(bytes(range(32))).decode("ascii")
"""A fixed pseudonymisation key, so the case pseudonyms and the key's fingerprint stay put."""

_FILE_DIGEST = re.compile(r"^[0-9a-f]{16}…$", re.MULTILINE)
"""A file's SHA-256 as the audit shows it; it follows line endings and every edit of a file."""
_TOOL_VERSION = re.compile(r"\b(samverkan-rules|holidays|DuckDB|Python) \d+(?:\.\d+)*")


class _VisibleText(HTMLParser):
    """The text a reader sees in an HTML page: one line a text node, scripts and styles left out."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        words = " ".join(data.split())
        if words and not self._hidden:
            self.lines.append(words)


def _environment(**extra: str) -> dict[str, str]:
    """This process's environment with the language fixed to Swedish, the default."""
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    env["LANG"] = "sv_SE.UTF-8"
    env["PYTHONIOENCODING"] = "utf-8"
    return env | extra


def _normalise(text: str, *paths: Path) -> str:
    """The text with what differs between machines and releases replaced by placeholders."""
    for path, placeholder in ((ROOT, "<repo>"), *((p, "<tmp>") for p in paths)):
        text = text.replace(str(path), placeholder)
    text = _TOOL_VERSION.sub(r"\1 <version>", text)
    text = _FILE_DIGEST.sub("<sha256>…", text)
    return text.replace(samverkan_rules.__version__, "<version>")


def _run(args: tuple[str, ...], **env: str) -> str:
    """Standard output of ``python -m samverkan_rules ARGS`` in the repository."""
    done = subprocess.run(
        [sys.executable, "-m", "samverkan_rules", *args],
        cwd=ROOT,
        env=_environment(**env),
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, f"exit {done.returncode}: {stderr}"
    return done.stdout.decode("utf-8")


def _compare(name: str, actual: str) -> None:
    """Fail with a diff unless ``actual`` is the approved snapshot; approving writes it."""
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get(APPROVE) == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path.relative_to(ROOT)}; write it with: {HINT}")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"approved {path.relative_to(ROOT)}",
                tofile="actual output",
            )
        )
        pytest.fail(
            f"output differs from {path.relative_to(ROOT)}:\n{diff}\n"
            f"If the change is intended, review the diff and approve it with: {HINT}",
            pytrace=False,
        )


@pytest.mark.parametrize("name", sorted(RUNS))
def test_output_matches_approved_snapshot(name: str) -> None:
    """The CLI's text is the approved snapshot, byte for byte after normalising."""
    _compare(name, _normalise(_run(RUNS[name])))


def test_audit_report_text_matches_approved_snapshot(tmp_path: Path) -> None:
    """The audit's HTML report, as the text a reader sees, is the approved snapshot."""
    pytest.importorskip("duckdb")
    pytest.importorskip("jinja2")
    out = tmp_path / "audit"
    _run((*AUDIT_ARGS, "--out", str(out)), SAMVERKAN_AUDIT_KEY=AUDIT_KEY)
    page = _VisibleText()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    page.close()
    _compare(AUDIT, _normalise("\n".join(page.lines) + "\n", tmp_path))


def test_snapshot_folder_holds_only_the_runs() -> None:
    """Every snapshot belongs to a run, so a renamed run leaves no stale file behind.

    Approving removes the stale files (and the other tests write the rest).
    """
    if os.environ.get(APPROVE) == "1":
        for path in SNAPSHOTS.glob("*.txt"):
            if path.stem not in {*RUNS, AUDIT}:
                path.unlink()
        return
    found = {path.stem for path in SNAPSHOTS.glob("*.txt")}
    expected = {*RUNS, AUDIT}
    assert found == expected, f"stale or missing snapshots: {found ^ expected}; {HINT}"
