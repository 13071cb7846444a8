"""Every example in the documentation runs and shows what it really prints.

Each page's examples run in a fresh working folder (with ``routines/``, ``examples/`` and
``tests/invalid/`` of the repository beside them), in the page's order: files are written,
commands run and their output compared with the page, routines validated, Python executed. See
``tests/docs/pages.py`` for the markers. English pages run with ``LANG=en_US.UTF-8``,
Swedish ones (``*.sv.md``) with ``LANG=sv_SE.UTF-8``.

When a change of the program's output is intended, write the new outputs into the pages
and read the diff before committing them, as with the snapshots::

    SAMVERKAN_APPROVE=1 python -m pytest tests/docs/test_examples.py
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import samverkan_rules
from tests.docs.pages import ROOT, Block, blocks, commands, needs, pages

APPROVE = os.environ.get("SAMVERKAN_APPROVE") == "1"
PORT = "8080"
"""The port the pages use; the tests serve on a free one and write it back as this."""

_TOOL_VERSION = re.compile(r"\b(samverkan-rules|holidays|DuckDB|Python) \d+(?:\.\d+)*")
_WITH_EXAMPLES = [p for p in pages() if any(b.marker in ("run", "file") for b in blocks(p))]


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


class _Page:
    """The working folder, environment and servers of one page's run."""

    def __init__(self, page: Path, work: Path) -> None:
        self.page = page
        self.work = work
        self.port = _free_port()
        language = "sv_SE.UTF-8" if page.name.endswith(".sv.md") else "en_US.UTF-8"
        env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES")}
        bin_dir = str(Path(sys.executable).parent)
        self.env = env | {
            "LANG": language,
            "PATH": bin_dir + os.pathsep + env.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "PYTHONIOENCODING": "utf-8",
            "COLUMNS": "88",
        }
        self.servers: list[subprocess.Popen[bytes]] = []
        self.approved: list[tuple[str, str]] = []
        """(block body shown, block body printed) for each console block, when approving."""
        for name in ("routines", "examples"):
            (work / name).symlink_to(ROOT / name)
        # The routines with mistakes that the validate reference shows findings of.
        (work / "tests").mkdir()
        (work / "tests" / "invalid").symlink_to(ROOT / "tests" / "invalid")

    def command_line(self, command: str) -> str:
        """The command as run: the page's port replaced by the test's free one."""
        return command.replace(PORT, self.port)

    def normalise(self, text: str) -> str:
        """The output with what differs between machines and releases put back as shown."""
        text = text.replace(str(self.work) + "/", "").replace(str(self.work), ".")
        text = text.replace(str(ROOT), "<repo>").replace(self.port, PORT)
        text = _TOOL_VERSION.sub(r"\1 <version>", text)
        text = text.replace(samverkan_rules.__version__, "<version>")
        return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())

    def run(self, block: Block) -> None:
        """Run each command of a console block and compare its output with the page."""
        printed_body: list[str] = []
        for step in commands(block):
            printed_body.append("$ " + step.command)
            assignment = re.fullmatch(r"export (\w+)=(\S+)", step.command)
            if assignment:
                self.env[assignment[1]] = shlex.split(assignment[2])[0]
                continue
            done = subprocess.run(
                ["bash", "-c", self.command_line(step.command)],
                cwd=self.work,
                env=self.env,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=300,
                check=False,
            )
            shown = self.normalise(step.output)
            printed = self.normalise(done.stdout.decode() + done.stderr.decode())
            if printed:
                printed_body.append(printed)
            if APPROVE:
                continue
            assert printed == shown, (
                f"{block.where}: `{step.command}` (exit {done.returncode}) printed\n{printed}\n"
                f"---- but the page shows\n{shown}\n"
                "(an intended change: SAMVERKAN_APPROVE=1 python -m pytest tests/docs)"
            )
        self.approved.append((block.body, "\n".join(printed_body) + "\n"))

    def write_approved(self) -> None:
        """Write the printed outputs into the page in place of the shown ones."""
        text = self.page.read_text(encoding="utf-8")
        at = 0
        for shown, printed in self.approved:
            at = text.index(shown, at)
            text = text[:at] + printed + text[at + len(shown) :]
            at += len(printed)
        self.page.write_text(text, encoding="utf-8")

    def start(self, block: Block) -> None:
        """Start a background command and wait until its port answers."""
        (step,) = commands(block)
        server = subprocess.Popen(
            ["bash", "-c", "exec " + self.command_line(step.command)],
            cwd=self.work,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.servers.append(server)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if server.poll() is not None:
                err = server.stderr.read().decode() if server.stderr else ""
                raise AssertionError(f"{block.where}: `{step.command}` stopped: {err}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", int(self.port))) == 0:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{block.where}: `{step.command}` did not listen within 30 s")

    def stop(self) -> None:
        """Stop the page's servers."""
        for server in self.servers:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()


def _require_modules(page: Path) -> None:
    """Skip a page whose extra is not installed, except in CI, where that fails."""
    missing = [m for m in needs(page) if importlib.util.find_spec(m) is None]
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"{page.name} needs {', '.join(missing)}, missing in CI")
    if missing:
        pytest.skip(f"{page.name} needs {', '.join(missing)} (an extra)")


@pytest.fixture
def page_run(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[_Page]:
    _require_modules(request.param)
    run = _Page(request.param, tmp_path)
    try:
        yield run
    finally:
        run.stop()


@pytest.mark.parametrize(
    "page_run", _WITH_EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)), indirect=True
)
def test_page_examples_print_what_the_page_shows(page_run: _Page) -> None:
    for block in blocks(page_run.page):
        if block.marker == "file":
            assert block.arg, f"{block.where}: a file marker needs a name"
            target = page_run.work / block.arg
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.body, encoding="utf-8")
        elif block.marker == "run":
            page_run.run(block)
        elif block.marker == "background":
            page_run.start(block)
    if APPROVE:
        page_run.write_approved()


def test_pages_have_examples_to_run() -> None:
    """The tutorials are the pages with the most to check: each has commands that run."""
    tutorials = [p for p in _WITH_EXAMPLES if p.parent.name == "tutorials"]
    assert len(tutorials) >= 5, tutorials


def _english() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES")}
    return env | {"LANG": "en_US.UTF-8", "PYTHONPATH": str(ROOT)}


def _routine_blocks() -> list[Block]:
    found = []
    for page in pages():
        for block in blocks(page):
            if block.lang == "yaml" and block.marker != "fragment":
                doc = yaml.safe_load(block.body)
                if isinstance(doc, dict) and "rules" in doc:
                    found.append(block)
    return found


@pytest.mark.parametrize("block", _routine_blocks(), ids=lambda b: b.where)
def test_routine_snippets_are_valid(block: Block, tmp_path: Path) -> None:
    """Each routine shown is valid, its quotes checked when its source file is on the page."""
    for other in blocks(block.page):
        if other.marker == "file" and other.arg:
            target = tmp_path / other.arg
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(other.body, encoding="utf-8")
    name = block.arg if block.marker == "file" and block.arg else "snippet.yaml"
    (tmp_path / name).write_text(block.body, encoding="utf-8")
    source = yaml.safe_load(block.body).get("source", {}).get("file")
    strict = ["--strict"] if source and (tmp_path / name).parent.joinpath(source).exists() else []
    done = subprocess.run(
        [sys.executable, "-m", "samverkan_rules", "validate", *strict, name],
        cwd=tmp_path,
        env=_english(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{block.where}: {done.stdout}{done.stderr}"
    assert "0 warning" in done.stdout, f"{block.where}: {done.stdout}"


def test_yaml_fragments_parse() -> None:
    for page in pages():
        for block in blocks(page):
            if block.lang == "yaml":
                assert isinstance(yaml.safe_load(block.body), dict | list), block.where


def _python_blocks() -> list[Block]:
    return [b for p in pages() for b in blocks(p) if b.lang == "python"]


@pytest.mark.parametrize("block", _python_blocks(), ids=lambda b: b.where)
def test_python_snippets_run(block: Block, tmp_path: Path) -> None:
    _require_modules(block.page)
    for name in ("routines", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    done = subprocess.run(
        [sys.executable, "-c", block.body],
        cwd=tmp_path,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{block.where}: {done.stdout}{done.stderr}"


def test_a_page_showing_other_output_than_the_command_prints_fails(tmp_path: Path) -> None:
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    page.write_text("<!-- run -->\n```console\n$ echo printed\nshown\n```\n", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    run = _Page(page, work)
    block = Block(page, 2, "console", "run", None, "$ echo printed\nshown\n")
    assert [(c.command, c.output) for c in commands(block)] == [("echo printed", "shown")]
    with pytest.raises(AssertionError, match="printed"):
        run.run(block)
    run.run(Block(page, 2, "console", "run", None, "$ echo printed\nprinted\n"))


def test_markers_are_read_from_the_line_before_a_fence() -> None:
    page = ROOT / "docs" / "tutorials" / "policy-author.md"
    found = [(b.marker, b.arg, b.lang) for b in blocks(page)]
    assert ("file", "bestallning.yaml", "yaml") in found
    assert ("run", None, "console") in found


def test_every_console_block_is_run() -> None:
    """A shell example or output is shown only as a ``<!-- run -->`` (or background) block,
    so no page shows output the program does not print; other text is a file the reader
    writes (``<!-- file: -->``)."""
    unchecked = [
        b.where
        for page in pages()
        for b in blocks(page)
        if b.lang in ("console", "text") and b.marker not in ("run", "background", "file")
    ]
    assert unchecked == []
