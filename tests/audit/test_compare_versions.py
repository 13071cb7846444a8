"""--compare across versions by meaning: rules paired by ``replaces:``, a total row, idle rows
left out, and differences traced to vocabulary; ``validate`` checks the names."""

from __future__ import annotations

import json
import random
import shutil
from datetime import date
from pathlib import Path

import pytest

from samverkan_rules.audit.synthetic import generate_history, write_files
from samverkan_rules.cli import main
from tests.audit.support import run_cli
from tests.support import ROUTINES

CURRENT = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
OLD = ROUTINES / "orebro-dagverksamhet-hemvard-2014.yaml"


def test_the_2014_version_compared_with_its_successor_pairs_predecessors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history, stream = generate_history(3, 40, years=1, first=date(2021, 1, 1))
    write_files(stream, tmp_path / "in", files=2, shuffle=random.Random(3))
    out = tmp_path / "out"
    args = ["audit", "--routines", str(OLD), "--events", str(tmp_path / "in"), "--out", str(out)]
    assert run_cli([*args, "--compare", str(CURRENT)], monkeypatch) == 0
    compare = json.loads((out / "report.json").read_text(encoding="utf-8"))["compare"]
    rows = {r["rule"]: r for r in compare["by_rule"]}
    start = rows["start-message"]
    assert start["base_rules"] == ["schedule-to-hemvard"]
    assert start["other_rules"] == ["start-message"]
    # The same trigger raises both: as many obligations under each, none "N -> 0".
    planned = history.expected["start-message"].total()
    assert sum(start["base"].values()) == sum(start["other"].values()) == planned
    assert "schedule-to-hemvard" not in rows
    # No row with nothing on either side; the idle ones are named, paired ones by the new id.
    assert all(sum(r["base"].values()) or sum(r["other"].values()) for r in rows.values())
    assert "changed-needs-from-dagverksamhet" in compare["hidden"]
    assert "changes-from-dagverksamhet" not in compare["hidden"]
    # Vocabulary: consent.given and message.acknowledged are unknown to the 2014 version.
    assert rows["consent-recorded"]["difference_from"] == "vocabulary"
    assert rows["consent-recorded"]["vocabulary_other_only"] == ["consent.given"]
    assert rows["receipt-acknowledgement"]["difference_from"] == "vocabulary"
    assert rows["start-journal"]["difference_from"] == "unpaired"
    assert rows["start-message"]["difference_from"] in ("rule", None)
    total = compare["total"]
    for side in ("base", "other"):
        assert total[side] == {s: sum(r[side][s] for r in rows.values()) for s in total[side]}
    assert total["difference"]["total"] == sum(r["difference"]["total"] for r in rows.values())
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="compare-total"' in html
    assert "ersätter <code>schedule-to-hemvard</code>" in html
    assert "<code>consent.given</code> används inte av den granskade versionen" in html


def _validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["validate", "--lang", "en", *argv])
    return code, capsys.readouterr().out


def test_validate_checks_replaces_against_the_earlier_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _validate(capsys, "--strict", str(ROUTINES))
    assert code == 0, out
    shutil.copytree(ROUTINES / "sources", tmp_path / "sources")
    shutil.copy(OLD, tmp_path / OLD.name)
    text = CURRENT.read_text(encoding="utf-8")
    assert "    replaces: help-cancel-day\n" in text
    bad = tmp_path / CURRENT.name
    bad.write_text(text.replace("replaces: help-cancel-day", "replaces: help-cancel-dy"), "utf-8")
    code, out = _validate(capsys, str(tmp_path))
    assert code == 1
    line = next(n for n, t in enumerate(bad.read_text("utf-8").splitlines(), 1) if "cancel-dy" in t)
    assert f"{bad}:{line}:5: " in out
    assert "replaces 'help-cancel-dy', which is no rule of an earlier version" in out
    assert "did you mean 'help-cancel-day'?" in out
    code, out = _validate(capsys, "--lang", "sv", str(tmp_path))
    assert "som inte är en regel i en tidigare version" in out
    # Alone, the current version cannot be checked: let be, or an error with --strict.
    code, out = _validate(capsys, str(CURRENT), "--sources", str(ROUTINES / "sources"))
    assert code == 0 and "replaces" not in out
    code, out = _validate(capsys, "--strict", str(CURRENT))
    assert code == 1
    assert "no earlier version of orebro-dagverksamhet-hemvard is among the routines" in out
