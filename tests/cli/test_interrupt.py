"""Ctrl-C waits for a safe point: never inside an import or pydantic's own code.

The child processes here run :func:`interrupts_at_safe_points` around an import that takes
about a second in pure Python. A SIGINT sent while that import runs must let the import
finish (it prints ``done``) and then stop the program with ``KeyboardInterrupt``; without
the handler the interrupt lands inside the import, as it landed inside orjson's and
pydantic-core's start-up and crashed the process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import FrameType

import pytest

from samverkan_rules.cli._interrupt import interrupts_at_safe_points, unsafe_to_interrupt
from tests.support import ROOT

SLOW_MODULE = """
import time
print("start", flush=True)
deadline = time.monotonic() + {seconds}
while time.monotonic() < deadline:
    pass
print("done", flush=True)
"""

CHILD = """
import sys
sys.path.insert(0, {folder!r})
from samverkan_rules.cli._interrupt import interrupts_at_safe_points
try:
    with interrupts_at_safe_points():
        import slow_import
        # One write with its line break: print() writes the break on its own, and the
        # interrupt landing between the two ran "after import" and "interrupted" together.
        sys.stdout.write("after import\\n")
        sys.stdout.flush()
        while True:
            pass
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def _interrupt_while_importing(tmp_path: Path, child: str) -> tuple[int, list[str]]:
    (tmp_path / "slow_import.py").write_text(textwrap.dedent(SLOW_MODULE.format(seconds=1.0)))
    program = textwrap.dedent(child.format(folder=str(tmp_path)))
    with subprocess.Popen(
        [sys.executable, "-c", program],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "start\n"
        time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        # A child the interrupt never reaches spins: end it rather than wait for ever.
        guard = threading.Timer(60, process.kill)
        guard.start()
        # The reader's buffer first (readline reads ahead), then the pipe to its end;
        # communicate() would read the pipe only and lose what was buffered.
        out = process.stdout.read()
        process.wait(timeout=60)
        guard.cancel()
        assert process.stderr is not None
        err = process.stderr.read()
    assert "Traceback" not in err, err
    return process.returncode, ["start", *out.split()]


def test_an_interrupt_during_an_import_waits_for_it_to_finish(tmp_path: Path) -> None:
    code, lines = _interrupt_while_importing(tmp_path, CHILD)
    # The import ran to its end; the interrupt came right after it, so the code after the
    # import may or may not have started, but it never ran to completion.
    assert lines[:2] == ["start", "done"]
    assert lines[-1] == "interrupted"
    assert code == 130


def test_without_the_handler_the_interrupt_lands_inside_the_import(tmp_path: Path) -> None:
    # The control: the same child with Python's own handler is cut off mid-import, which is
    # what crashed an extension's start-up.
    plain = CHILD.replace("with interrupts_at_safe_points():", "if True:")
    code, lines = _interrupt_while_importing(tmp_path, plain)
    assert "done" not in lines
    assert lines[-1] == "interrupted"
    assert code == 130


def test_frames_of_an_import_are_unsafe_and_plain_code_is_safe(tmp_path: Path) -> None:
    captured: list[FrameType] = []
    (tmp_path / "capturing_module.py").write_text(
        "import sys\nCAPTURED = sys._getframe()\n", encoding="utf-8"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import capturing_module  # type: ignore[import-not-found]

        captured.append(capturing_module.CAPTURED)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("capturing_module", None)
    assert unsafe_to_interrupt(captured[0])
    assert not unsafe_to_interrupt(sys._getframe())
    assert not unsafe_to_interrupt(None)


def test_frames_in_pydantics_package_are_unsafe() -> None:
    pydantic = pytest.importorskip("pydantic")
    pydantic_core = pytest.importorskip("pydantic_core")
    for package in (pydantic, pydantic_core):
        assert unsafe_to_interrupt(_frame_in(Path(package.__file__).parent / "main.py"))
    assert not unsafe_to_interrupt(_frame_in(ROOT / "samverkan_rules" / "engine" / "x.py"))


def _frame_in(filename: Path) -> FrameType:
    """A frame whose code claims to be in ``filename``."""
    code = compile("import sys\nframe = sys._getframe()", str(filename), "exec")
    namespace: dict[str, object] = {}
    exec(code, namespace)  # a fixed string: only its frame, with that filename, is wanted
    frame = namespace["frame"]
    assert isinstance(frame, FrameType)
    return frame


def test_the_handler_is_installed_only_over_pythons_own_and_then_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    assert before is signal.default_int_handler
    with interrupts_at_safe_points():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is before

    def embedding_programs_own(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, embedding_programs_own)
    try:
        with interrupts_at_safe_points():
            assert signal.getsignal(signal.SIGINT) is embedding_programs_own
    finally:
        signal.signal(signal.SIGINT, before)
