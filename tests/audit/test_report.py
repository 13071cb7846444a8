"""The per-partition step and the merge: any grouping of cases gives the same report."""

from __future__ import annotations

import csv
import io
import random
import tempfile
from datetime import date, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import load_registry
from samverkan_rules.audit.inputs import find_inputs
from samverkan_rules.audit.partition import PartitionJob, audit_partition
from samverkan_rules.audit.pseudonym import Pseudonymiser
from samverkan_rules.audit.reader import Staging
from samverkan_rules.audit.report import finish, percentile
from samverkan_rules.audit.rows import AuditRules
from samverkan_rules.audit.synthetic import generate_history, write_files
from samverkan_rules.audit.tables import CsvLines
from samverkan_rules.audit.tallies import Partial
from tests.audit.support import ROUTINE_ID, bare_header
from tests.support import ROUTINES

ROUTINE_VERSIONS = list(load_registry(ROUTINES).versions(ROUTINE_ID))
_STREAMS: list[tuple[str, list]] = []  # type: ignore[type-arg]
_HISTORY, _CASES = generate_history(11, 20, years=2)


def _streams(tmp: Path) -> list[tuple[str, list]]:  # type: ignore[type-arg]
    """The generated history's streams, staged once for every example."""
    if not _STREAMS:
        history = _HISTORY
        write_files(_CASES, tmp, files=2, shuffle=random.Random(1))
        rules = AuditRules.prepare(ROUTINE_VERSIONS)
        with Staging(rules, Pseudonymiser(b"0123456789abcdef")) as staging:
            staging.load(find_inputs([str(tmp)]), lambda n: None)
            staging.finish(datetime.fromisoformat(f"{history.last.isoformat()}T23:59:59+01:00"))
            _STREAMS.extend(staging.cases())
    return _STREAMS


def _job() -> PartitionJob:
    return PartitionJob(
        routines=(),
        compare=None,
        as_of=f"{_HISTORY.last.isoformat()}T23:59:59+01:00",
        first=_HISTORY.first,
        last=_HISTORY.last,
        file_names=(),
    )


def _report(partial: Partial) -> str:
    header = bare_header(_job().as_of, ROUTINE_ID, date(2020, 1, 1), date(2021, 12, 31))
    report = finish(partial, header, ROUTINE_VERSIONS, first=_HISTORY.first, last=_HISTORY.last)
    return report.to_json()


@settings(max_examples=10, deadline=None, derandomize=True)
@given(data=st.data())
def test_any_grouping_and_merge_order_gives_the_same_report(data: st.DataObject) -> None:
    streams = _streams(Path(tempfile.mkdtemp(prefix="samverkan-merge-")))
    job = _job()
    whole = audit_partition(job, streams, io.StringIO(), routines=ROUTINE_VERSIONS)
    groups = data.draw(st.integers(1, 6))
    assign = [data.draw(st.integers(0, groups - 1)) for _ in streams]
    parts = [
        audit_partition(
            job,
            [s for s, g in zip(streams, assign, strict=True) if g == i],
            io.StringIO(),
            routines=ROUTINE_VERSIONS,
        )
        for i in range(groups)
    ]
    order = data.draw(st.permutations(range(groups)))
    left = Partial.merge_all(parts[i] for i in order)
    # (a . b) . c == a . (b . c): fold from the right as well.
    right = Partial()
    for i in reversed(order):
        right = parts[i].merge(right)
    assert _report(left) == _report(whole) == _report(right)
    assert left.rows == whole.rows == sum(_HISTORY.expected[r].total() for r in _HISTORY.expected)


def test_percentiles_are_nearest_rank() -> None:
    assert percentile({0: 1}, 90) == 0
    assert percentile({1: 9, 5: 1}, 90) == 1
    assert percentile({1: 9, 5: 1}, 91) == 5


_PLAIN = st.text(alphabet=st.sampled_from(["a", "Ä", " ", "#", "1", "-"]), max_size=4)
_FIELD = st.one_of(_PLAIN, _PLAIN, _PLAIN, st.sampled_from([",", '"', "\n", "\r", "a\nb", ""]))
"""Mostly what needs no quoting, so that blocks both with and without such a field come."""


@given(rows=st.lists(st.lists(_FIELD, min_size=1, max_size=5), max_size=6))
def test_csv_lines_are_the_csv_writers(rows: list[list[str]]) -> None:
    """The obligation rows' fast writer writes what :func:`csv.writer` writes, whatever the
    fields hold (commas, quotes, line breaks, a row of one empty field)."""
    expected, written = io.StringIO(), io.StringIO()
    csv.writer(expected, lineterminator="\n").writerows(rows)
    CsvLines(written).write_all(rows)
    assert written.getvalue() == expected.getvalue()
