"""What a run prints when it stops or finds much: the reasons first, repeats summarised."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audit.support import Generated, audit_args, run_cli


def _error_line(err: str) -> int:
    lines = err.splitlines()
    return next(i for i, line in enumerate(lines) if line.startswith("samverkan audit: error:"))


def test_a_run_with_every_record_rejected_shows_them_before_it_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.csv"
    export.write_bytes(
        "id;case;type;at;data\r\ne1;ärende-1;consent.given;2021-03-01T09:00:00+01:00;{}\r\n".encode(
            "cp1252"
        )
    )
    assert run_cli(audit_args([export], tmp_path / "out"), monkeypatch) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    stop = _error_line(err)
    assert "every record was rejected (see the messages above)" in lines[stop]
    above = "\n".join(lines[:stop])
    assert f"{export}:2" in above and "not utf-8 text" in above and "--encoding cp1252" in above


def test_an_empty_period_shows_the_findings_before_it_stops(
    generated: Generated,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = generated.paths[0].parent / "bad.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    args = audit_args([bad.parent], tmp_path / "out", "--from", "2030-01-01", "--to", "2030-12-31")
    assert run_cli(args, monkeypatch) == 2
    err = capsys.readouterr().err
    stop = _error_line(err)
    assert "holds no obligation" in err.splitlines()[stop]
    assert f"{bad}:1" in "\n".join(err.splitlines()[:stop])


def test_repeated_findings_are_summarised_by_code(
    generated: Generated,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = generated.paths[0].parent / "garbage.jsonl"
    bad.write_text("not json\n" * 40, encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli(audit_args([bad.parent], out, "--max-messages", "3"), monkeypatch) == 1
    err = capsys.readouterr().err
    listed = [line for line in err.splitlines() if line.startswith(f"{bad}:")]
    assert [line.split(":")[1] for line in listed] == ["1", "2", "3"]
    assert (
        "samverkan audit: 37 more event.bad-json finding(s) not shown (--max-messages); "
        f"the next at {bad}:4, {bad}:5, {bad}:6"
    ) in err
    assert run_cli(audit_args([bad.parent], tmp_path / "all"), monkeypatch) == 1
    shown = capsys.readouterr().err.splitlines()
    assert sum(1 for line in shown if line.startswith(f"{bad}:")) == 10


@pytest.mark.parametrize(
    ("limit", "code"),
    [("2", 2), ("3", 1), ("0.001%", 2), ("50%", 1), ("0", 2)],
)
def test_max_rejected_fails_past_the_threshold(
    generated: Generated,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    limit: str,
    code: int,
) -> None:
    bad = generated.paths[0].parent / "bad.jsonl"
    bad.write_text("{oops\n" * 3, encoding="utf-8")
    out = tmp_path / "out"
    assert run_cli(audit_args([bad.parent], out, "--max-rejected", limit), monkeypatch) == code
    err = capsys.readouterr().err
    if code == 2:
        assert f"3 of {generated.history.events + 3} records were rejected" in err
        assert f"--max-rejected {limit}" in err
        assert any(line.startswith(f"{bad}:3") for line in err.splitlines()[: _error_line(err)])
        assert not out.exists() or not any(out.iterdir())
    else:
        assert (out / "report.json").is_file()


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (("--max-rejected", "lots"), "give a number of records"),
        (("--max-rejected", "120%"), "give a number of records"),
        (("--max-messages", "0"), "whole number >= 1"),
    ],
)
def test_bad_limits_exit_2(
    generated: Generated,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: tuple[str, ...],
    words: str,
) -> None:
    assert run_cli(audit_args(generated.paths, tmp_path / "out", *option), monkeypatch) == 2
    assert words in capsys.readouterr().err
