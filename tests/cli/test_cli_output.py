"""Output is complete or the command fails: full disks, closed streams, odd locales, Ctrl-C.

Most of these run the real command in a subprocess, because what they test is the process's
standard streams: a closed descriptor, ``/dev/full``, an ASCII locale.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from samverkan_rules.cli import _files, main
from samverkan_rules.cli import _streams as output
from tests.support import EXAMPLES, ROOT, ROUTINES

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
EVENTS = EXAMPLES / "orebro-case.jsonl"
AS_OF = "2026-12-15T12:00:00+01:00"
DUE = ("due", "--routine", str(ROUTINE), "--events", str(EVENTS), "--as-of", AS_OF)
BUG = "This is a bug"


def samverkan(
    *argv: str,
    shell_redirect: str = "",
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m samverkan_rules ARGV`` with optional shell redirections."""
    command = [sys.executable, "-m", "samverkan_rules", *argv]
    full_env = {**os.environ, "PYTHONUTF8": "1", **(env or {})}
    if shell_redirect:
        command = ["bash", "-c", f'exec "$@" {shell_redirect}', "_", *command]
    return subprocess.run(
        command, input=stdin, capture_output=True, env=full_env, cwd=ROOT, timeout=120
    )


needs_dev_full = pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")


# --------------------------------------------------------------------------- full disk


@needs_dev_full
@pytest.mark.parametrize(
    "argv",
    [
        DUE,
        (*DUE, "--format", "json"),
        ("validate", str(ROUTINE)),
        ("render", str(ROUTINE)),
        ("schema",),
        ("--help",),
        ("test", str(ROUTINE)),
    ],
    ids=["due", "due-json", "validate", "render", "schema", "help", "test"],
)
def test_a_full_disk_is_exit_2_with_a_message(argv: Sequence[str]) -> None:
    done = samverkan(*argv, shell_redirect=">/dev/full")
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "no space left" in err
    assert "incomplete" in err
    assert BUG not in err and "Traceback" not in err


# --------------------------------------------------------------------------- closed streams


def test_closed_stdout_is_exit_2() -> None:
    done = samverkan(*DUE, shell_redirect=">&-")
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "standard output" in err and "closed" in err
    assert BUG not in err


def test_closed_stdin_with_events_from_stdin_is_exit_2() -> None:
    argv = ("due", "--routine", str(ROUTINE), "--events", "-", "--as-of", AS_OF)
    done = samverkan(*argv, shell_redirect="<&-")
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "standard input is closed" in err
    assert BUG not in err


def test_closed_stderr_never_puts_diagnostics_in_stdout(tmp_path: Path) -> None:
    done = samverkan(
        "validate",
        "--lang",
        "en",
        str(ROUTINE),
        str(tmp_path / "missing.yaml"),
        shell_redirect="2>&-",
    )
    out = done.stdout.decode()
    assert done.returncode == 2
    assert "missing.yaml" not in out
    assert "error:" not in out
    assert out.endswith("1 routine(s) checked: 1 valid, 0 with errors, 0 warning(s)\n")


def test_closed_stderr_keeps_json_output_clean(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text(EVENTS.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    argv = ("due", "--routine", str(ROUTINE), "--events", str(broken), "--as-of", AS_OF)
    done = samverkan(*argv, "--format", "json", shell_redirect="2>&-")
    assert done.returncode == 1
    json.loads(done.stdout)  # nothing but the result on stdout


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    "env",
    [
        {"PYTHONIOENCODING": "ascii"},
        {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"},
        {"PYTHONIOENCODING": "latin-1"},
    ],
    ids=["ascii", "C-locale", "latin-1"],
)
def test_output_is_utf8_whatever_the_locale(env: dict[str, str]) -> None:
    reference = samverkan(*DUE)
    assert reference.returncode == 0
    assert "Läget".encode() in reference.stdout
    done = samverkan(*DUE, env=env)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == reference.stdout


def test_events_on_stdin_are_read_as_utf8_in_a_c_locale() -> None:
    argv = ("due", "--routine", str(ROUTINE), "--events", "-", "--as-of", AS_OF)
    reference = samverkan(*DUE, "--format", "json")
    env = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}
    done = samverkan(*argv, "--format", "json", env=env, stdin=EVENTS.read_bytes())
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == reference.stdout


def test_diagnostics_are_utf8_in_an_ascii_locale(tmp_path: Path) -> None:
    path = tmp_path / "rutin-åäö.yaml"
    path.write_text("id: [\n", encoding="utf-8")
    done = samverkan("validate", str(path), env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 1
    assert "rutin-åäö.yaml".encode() in done.stdout
    assert BUG not in done.stderr.decode()


# --------------------------------------------------------------------------- pipes


def test_a_reader_that_stops_early_is_quiet() -> None:
    command = [sys.executable, "-m", "samverkan_rules", *DUE, "--format", "json", "--all"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.read(10)
        process.stdout.close()
        err = process.stderr.read().decode()
        code = process.wait(timeout=120)
    assert code == 0
    assert err == ""


def test_standard_errors_reader_leaving_does_not_stop_the_command() -> None:
    command = [
        sys.executable,
        "-m",
        "samverkan_rules",
        "validate",
        "--lang",
        "en",
        "--today",
        "2026-11-28",
    ]
    command += ["/nonexistent", "routines"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stderr.close()
        out = process.stdout.read().decode()
        code = process.wait(timeout=120)
    assert code == 2  # the missing path, not a quiet 0
    n = len(list((ROUTINES).glob("*.yaml")))
    assert out.endswith(f"{n} routine(s) checked: {n} valid, 0 with errors, 3 warning(s)\n")


def test_partial_writes_are_continued(monkeypatch: pytest.MonkeyPatch) -> None:
    read_fd, write_fd = os.pipe()
    real_write = os.write

    def stingy(fd: int, data: bytes | memoryview) -> int:
        return real_write(fd, bytes(data[:3]))  # the system takes three bytes at a time

    monkeypatch.setattr(output.os, "write", stingy)
    payload = ("åäö " * 5000).encode()
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(_read_all(read_fd)))
    reader.start()
    output._write_fd(write_fd, payload)
    os.close(write_fd)
    reader.join()
    os.close(read_fd)
    assert received == [payload]


def test_a_non_blocking_stdout_is_waited_for() -> None:
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    payload = b"x" * (4 << 20)  # far more than a pipe holds
    received: list[bytes] = []

    def slow_reader() -> None:
        time.sleep(0.2)
        received.append(_read_all(read_fd))

    reader = threading.Thread(target=slow_reader)
    reader.start()
    output._write_fd(write_fd, payload)
    os.close(write_fd)
    reader.join()
    os.close(read_fd)
    assert received == [payload]


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_failed_write_in_process_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def full(stream: object, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output.StreamWriter, "_emit", staticmethod(full))
    assert main(["schema"]) == 2


def test_lone_surrogates_are_escaped_not_fatal(capsys: pytest.CaptureFixture[str]) -> None:
    with output.stdout_writer() as out:
        out.write('{"id": "e\ud800"}\n')
    assert capsys.readouterr().out == '{"id": "e\\ud800"}\n'


# --------------------------------------------------------------------------- files


def test_render_out_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "rutin.md"
    target.write_text("old", encoding="utf-8")
    assert main(["render", str(ROUTINE), "--out", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("# ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rutin.md"]


def test_render_out_failure_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "rutin.md"
    target.write_text("old", encoding="utf-8")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_files.os, "fsync", full)
    code = main(["render", str(ROUTINE), "--out", str(target)])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot write" in err and "No space left" in err
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rutin.md"]


def test_schema_write_leaves_no_temporaries(tmp_path: Path) -> None:
    assert main(["schema", "--write", str(tmp_path)]) == 0
    assert all(p.name.endswith(".schema.json") for p in tmp_path.iterdir())
    assert main(["schema", "--check", str(tmp_path)]) == 0


def test_atomic_files_get_ordinary_permissions(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    _files.write_file_atomic(target, b"{}")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


# --------------------------------------------------------------------------- permissions


def test_an_unreadable_routine_directory_is_exit_2_and_others_are_still_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_iterdir = Path.iterdir

    def iterdir(self: Path):  # type: ignore[no-untyped-def]
        if self == locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    code = main(["validate", "--lang", "en", str(locked), str(ROUTINE)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "1 routine(s) checked: 1 valid" in out
    assert f"{locked}: cannot read the directory (Permission denied)" in err
    assert BUG not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory")
def test_an_unreadable_routine_directory_for_due(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "r.yaml").write_bytes(ROUTINE.read_bytes())
    locked.chmod(0)
    try:
        argv = ("due", "--routine", str(locked), "--events", str(EVENTS), "--as-of", AS_OF)
        done = samverkan(*argv)
    finally:
        locked.chmod(0o755)
    assert done.returncode == 2
    assert BUG not in done.stderr.decode()


def test_an_os_error_anywhere_is_exit_2_not_a_bug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from samverkan_rules.cli import test_cmd

    def denied(path: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied", "routines/tests")

    # Where the command looks it up, so the test holds whatever imported the module first.
    monkeypatch.setattr(test_cmd, "run_directory", denied)
    code = main(["test", str(ROUTINE)])
    err = capsys.readouterr().err
    assert code == 2
    assert "routines/tests: Permission denied" in err
    assert BUG not in err


# --------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_in_process_is_130_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from samverkan_rules.cli import validate_cmd

    def interrupted(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(validate_cmd, "check_routine_file", interrupted)
    code = main(["validate", "--lang", "en", str(ROUTINE)])
    err = capsys.readouterr().err
    assert code == 130
    assert err == "samverkan: interrupted\n"


@pytest.mark.parametrize("delay", [0.05, 0.1, 0.2, 0.4, 1.0])
def test_ctrl_c_during_start_up_or_work_is_130_without_traceback(
    delay: float, tmp_path: Path
) -> None:
    for i in range(20):  # enough work to be interrupted in
        for routine in (ROUTINES).glob("*.yaml"):
            (tmp_path / f"{i}-{routine.name}").write_bytes(routine.read_bytes())
    # `python -m samverkan_rules` from where its entry point runs: a Ctrl-C while Python
    # starts (imports `site`, then the package itself, as any program) is Python's to report,
    # with a traceback, and on a busy machine 0.1 s can still be inside it. So the child
    # says when it is that far.
    program = (
        "import runpy, sys, samverkan_rules; sys.stderr.write('ready\\n'); sys.stderr.flush(); "
        f"sys.argv = ['samverkan', 'validate', {str(tmp_path)!r}]; "
        "runpy.run_module('samverkan_rules', run_name='__main__', alter_sys=True)"
    )
    command = [sys.executable, "-c", program]
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT
    ) as process:
        assert process.stderr is not None
        assert process.stderr.readline() == b"ready\n"
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        err = process.stderr.read().decode()
        code = process.wait(timeout=120)
    if code == 0:
        pytest.skip("finished before the signal arrived")
    assert "Traceback" not in err
    # Before Python has set up its own handler, the signal ends the process as it ends
    # any other; a shell reports that as 130 too.
    assert code in (130, -signal.SIGINT), err
    if code == 130:
        assert err == "samverkan: interrupted\n"


def test_importing_the_command_line_is_cheap() -> None:
    # Cheap start-up is what lets Ctrl-C find main()'s handler rather than an import.
    probe = (
        "import sys, samverkan_rules.cli; "
        "print(sorted(m for m in ('pydantic', 'holidays', 'yaml') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("events", ["/dev/zero", "routines"])
def test_an_event_source_that_is_a_device_or_directory_is_refused_at_once(
    events: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path(events).exists() and not (ROOT / events).exists():
        pytest.skip(f"no {events}")
    path = events if events.startswith("/") else str(ROOT / events)
    started = time.perf_counter()
    code = main(["due", "--routine", str(ROUTINE), "--events", path, "--as-of", AS_OF])
    err = capsys.readouterr().err
    assert time.perf_counter() - started < 5
    assert code == 2
    assert "not an event file" in err


def test_the_null_device_is_an_empty_event_file(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["due", "--routine", str(ROUTINE), "--events", os.devnull, "--as-of", AS_OF])
    assert code == 0
    assert "Inga ärenden" in capsys.readouterr().out


def test_non_utf8_bytes_on_stdin_lose_only_their_line() -> None:
    argv = ("due", "--routine", str(ROUTINE), "--events", "-", "--as-of", AS_OF)
    bad = b'{"id": "e\xff1", "case": "c1", "type": "consent.given", "at": "2026-12-01T09:00:00Z"}\n'
    good = b'{"id": "e2", "case": "c1", "type": "consent.given", "at": "2026-12-01T09:00:00Z"}\n'
    done = samverkan(*argv, "--format", "json", stdin=bad + good)
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert "<stdin>:1: inte giltig text" in err and "UTF-8" in err
    assert json.loads(done.stdout)["summary"]["events"] == 1  # the good line, evaluated
