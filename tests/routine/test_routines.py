"""Properties every bundled routine must have, whatever routines ``routines/`` holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from samverkan_rules.routine.load import load_routine, routine_files
from samverkan_rules.text.markdown import render_markdown
from tests.support import ROUTINES

BUNDLED = sorted(routine_files([ROUTINES]))


def test_there_are_bundled_routines() -> None:
    assert BUNDLED, "routines/ holds no routine"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_reachability_written_as_vardagar_means_working_days(path: Path) -> None:
    # "vardagar" in a Swedish document means working days (lag 1930:173): Monday to Friday
    # without public holidays and the aftnar. 'weekdays' would keep a role reachable on a
    # public holiday that falls on a weekday.
    routine = load_routine(path)
    quotes = " ".join(r.rule.source.quote for r in routine.rules)
    for name, role in routine.routine.roles.items():
        for reach in role.reachable:
            window = f"{reach.from_.hour}:{reach.from_.minute:02d}"
            said = re.search(rf"vardagar\s+0?{window}", quotes)
            if said:
                assert reach.days == "working_days", f"{name}: {reach.days}"


def test_orebro_day_care_is_reachable_on_working_days_only() -> None:
    routine = load_routine(ROUTINES / "orebro-dagverksamhet-hemvard.yaml")
    reach = routine.routine.roles["dagverksamhet"].reachable
    assert [r.days for r in reach] == ["working_days"]
    assert "| vardagar 07.30–15.00 (annars: Röstbrevlåda) |" in render_markdown(routine)
