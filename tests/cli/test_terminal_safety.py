"""Text safe for a terminal: control characters from inputs never reach it raw.

A case id, an event id, a file name or a routine's text carrying ``ESC [2J`` (clear the
screen) used to be printed as it was; now every character a terminal could act on is
written as ``\\uXXXX``, in every output and diagnostic, and JSON output still parses to the
same values. Markdown rendering shows raw HTML instead of passing it through.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from samverkan_rules import load_routine_text
from samverkan_rules.cli import main
from samverkan_rules.cli._streams import terminal_safe
from samverkan_rules.text.html import render_html
from samverkan_rules.text.markdown import render_markdown
from tests.support import ROUTINES, event

ROUTINE = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
AS_OF = "2026-12-15T12:00:00+01:00"
CLEAR = "\x1b[2J"
UNSAFE = [CLEAR, "\r", "\x07", "\x9b", "\u202e", "\u2028", "\x00", "\x7f"]


def events_with(tmp_path: Path, case: str, event_id: str = "e1") -> Path:
    lines = [
        event(
            id=event_id,
            case=case,
            type="consent.given",
            at="2026-12-01T09:00:00+01:00",
            form="written",
        ),
        event(
            id="e2",
            case=case,
            type="dagverksamhet.start_planned",
            at="2026-12-01T10:00:00+01:00",
            start_date="2026-12-28",
        ),
        {"id": f"bad{CLEAR}", "case": case, "type": f"no.such{CLEAR}", "at": AS_OF},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


def assert_safe(text: str) -> None:
    for char in UNSAFE:
        assert char not in text, repr(char)


@pytest.mark.parametrize("char", UNSAFE)
def test_terminal_safe_escapes_what_a_terminal_acts_on(char: str) -> None:
    escaped = terminal_safe(f"a{char}b\n\tc")
    assert char not in escaped
    assert escaped.endswith("b\n\tc")
    assert json.loads(f'"{escaped.splitlines()[0]}"') == f"a{char}b"


def test_due_text_escapes_case_ids_and_event_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = events_with(tmp_path, f"c1{CLEAR}")
    code = main(["due", "--routine", str(ROUTINE), "--events", str(events), "--as-of", AS_OF])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Ärende c1\\u001b[2J" in out
    assert "events.jsonl:3:" in err
    assert_safe(out)
    assert_safe(err)


def test_due_json_stays_valid_and_keeps_the_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = "c1" + "".join(UNSAFE)
    events = events_with(tmp_path, case)
    argv = ["due", "--routine", str(ROUTINE), "--events", str(events), "--as-of", AS_OF]
    code = main([*argv, "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert_safe(out)
    assert_safe(err)
    assert [c["case"] for c in json.loads(out)["cases"]] == [case]


def test_explain_text_is_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = events_with(tmp_path, f"c1{CLEAR}", event_id="e1")
    argv = ["explain", "--routine", str(ROUTINE), "--events", str(events), "--as-of", AS_OF]
    main([*argv, "start-message:e2", f"nope{CLEAR}"])
    out, err = capsys.readouterr()
    assert "Ärende:" in out
    assert_safe(out)
    assert_safe(err)


def test_validate_escapes_file_names_and_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"r{CLEAR}.yaml"
    text = ROUTINE.read_text(encoding="utf-8").replace(
        "responsible: dagverksamhet\n", 'responsible: "dag\\e[2J"\n', 1
    )
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    out, _ = capsys.readouterr()
    assert code == 1
    assert "r\\u001b[2J.yaml:" in out
    assert_safe(out)
    code = main(["validate", "--format", "json", str(path)])
    out, _ = capsys.readouterr()
    assert_safe(out)
    assert json.loads(out)["routines"][0]["file"] == str(path)


def test_usage_errors_are_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(tmp_path / f"missing{CLEAR}.yaml")])
    _, err = capsys.readouterr()
    assert code == 2
    assert "missing\\u001b[2J.yaml" in err
    assert_safe(err)


# --------------------------------------------------------------------------- render


HOSTILE_TITLE = 'Rutin <script>alert("x")</script> & <img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def hostile() -> object:
    text = ROUTINE.read_text(encoding="utf-8")
    first_title = next(line for line in text.splitlines() if line.startswith("title:"))
    text = text.replace(first_title, f"title: '{HOSTILE_TITLE}'", 1)
    text = text.replace(
        "quote: Meddelandet skickas", "quote: <b onclick=x>Meddelandet</b> skickas", 1
    )
    return load_routine_text(text)


def test_markdown_shows_raw_html_instead_of_passing_it_through(hostile: object) -> None:
    markdown = render_markdown(hostile)  # type: ignore[arg-type]
    assert "<script>" not in markdown and "<img" not in markdown and "<b " not in markdown
    assert '# Rutin &lt;script>alert("x")&lt;/script> &amp; &lt;img src=x' in markdown
    assert "&lt;b onclick=x>Meddelandet&lt;/b> skickas" in markdown


def test_html_escapes_every_text(hostile: object) -> None:
    page = render_html(hostile)  # type: ignore[arg-type]
    assert "<script>" not in page and "<img" not in page and "<b onclick" not in page
    assert "&lt;script&gt;" in page


def test_render_escapes_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ROUTINE.read_text(encoding="utf-8")
    first_title = next(line for line in text.splitlines() if line.startswith("title:"))
    path = tmp_path / "r.yaml"
    path.write_text(text.replace(first_title, 'title: "Rutin \\e[2J"', 1), encoding="utf-8")
    assert main(["render", str(path)]) == 0
    out = capsys.readouterr().out
    assert "# Rutin \\u001b[2J" in out
    assert_safe(out)
