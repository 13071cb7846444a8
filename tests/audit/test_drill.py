"""report.html lists the worst cases and the most overdue obligations, each linked to an
offline page of its case: its events and every obligation explained, pseudonymised."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samverkan_rules import load_registry
from samverkan_rules.audit.inputs import find_inputs
from samverkan_rules.audit.pseudonym import Pseudonymiser
from samverkan_rules.audit.reader import Staging
from samverkan_rules.audit.rows import AuditRules
from samverkan_rules.audit.synthetic import generate_history, write_files
from samverkan_rules.audit.tallies import Partial
from tests.audit.support import ROUTINE_ID, audit_args, run_cli
from tests.support import ROUTINES


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if found.get("id"):
            self.ids.append(str(found["id"]))


def _parse(text: str) -> _Links:
    parser = _Links()
    parser.feed(text)
    return parser


def _table_rows(html: str, table: str) -> list[str]:
    body = html.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr><td>(.*?)</tr>", body)


def test_the_worst_cases_link_to_their_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen, out = tmp_path / "gen", tmp_path / "out"
    args = ["audit", "generate", "--out", str(gen), "--cases", "30", "--years", "1"]
    assert run_cli([*args, "--seed", "6", "--mix", "4:2:2"], monkeypatch) == 0
    truth = json.loads((gen / "truth.json").read_text(encoding="utf-8"))
    period = ["--from", truth["from"], "--to", truth["to"]]
    assert run_cli(audit_args([gen / "events"], out, *period), monkeypatch) == 0
    with (out / "obligations.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    html = (out / "report.html").read_text(encoding="utf-8")
    worst = _table_rows(html, "worst-cases")
    overdue = _table_rows(html, "most-overdue")
    assert len(worst) == len(overdue) == 10
    # The first listed case has the most overdue obligations of all.
    per_case = Counter(r["case"] for r in rows if r["status"] == "overdue")
    first_case = re.search(r"<code>(p-[0-9a-f]{20})</code>", worst[0])
    assert first_case is not None and per_case[first_case.group(1)] == max(per_case.values())
    # The first listed obligation is the longest overdue.
    oldest = max(int(r["late_working_days"]) for r in rows if r["status"] == "overdue")
    assert f'<td class="num">{oldest}</td>' in overdue[0]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    listed = [re.findall(r"<code>(p-[0-9a-f]{20})</code>", row)[0] for row in worst]
    assert [c["case"] for c in report["worst_cases"]] == listed
    assert [o["obligation"] for o in report["most_overdue"]] == [
        re.findall(r"<code>([^<]+)</code>", row)[0] for row in overdue
    ]
    assert all(o["working_days"] > 0 for o in report["most_overdue"])
    assert [tuple(c[k] for k in _WORST) for c in report["worst_cases"]] == _worst(rows)
    assert [tuple(o[k] for k in _OVERDUE) for o in report["most_overdue"]] == _overdue(rows)
    real = {r["case"] for r in csv.DictReader((gen / "truth.csv").open(encoding="utf-8"))}
    pages = {link.split("#")[0] for link in _parse(html).links if link.startswith("cases/")}
    assert pages and all(re.fullmatch(r"cases/case-\d\d\.html", p) for p in pages)
    for page in sorted(pages):
        text = (out / page).read_text(encoding="utf-8")
        (case,) = set(re.findall(r"<h1>Ärende <code>(p-[0-9a-f]{20})</code>", text))
        expected = {r["obligation"] for r in rows if r["case"] == case}
        assert expected <= set(_parse(text).ids)  # each of its obligations, explained
        assert text.count("<tr><td>") == sum(1 for _ in _events_of(gen, real, case, rows))
        assert not any(r in text for r in real)
        assert "http" not in text.replace('http-equiv="Content-Security-Policy"', "")
    for link in _parse(html).links:
        if "#" in link and link.startswith("cases/"):
            page, anchor = link.split("#")
            assert anchor in _parse((out / page).read_text(encoding="utf-8")).ids


def _events_of(
    gen: Path, real: set[str], case: str, rows: list[dict[str, str]]
) -> list[dict[str, object]]:
    """The generated events of the case behind a pseudonym (its trigger events tell it)."""
    triggers = {r["trigger_event"] for r in rows if r["case"] == case}
    events = [
        json.loads(line)
        for path in sorted((gen / "events").iterdir())
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    (owner,) = {e["case"] for e in events if e["id"] in triggers}
    assert owner in real
    return [e for e in events if e["case"] == owner]


_WORST = ("case", "obligations", "overdue", "late", "late_working_days")
_OVERDUE = ("case", "obligation", "rule", "deadline", "working_days")


def _worst(rows: list[dict[str, str]]) -> list[tuple[str, int, int, int, int]]:
    """The ten worst cases counted from obligations.csv's rows, as the report defines them."""
    per: dict[str, list[int]] = {}
    for r in rows:
        counts = per.setdefault(r["case"], [0, 0, 0, 0])
        counts[0] += 1
        if r["status"] == "overdue":
            counts[1] += 1
        elif r["status"] == "fulfilled_late":
            counts[2] += 1
            counts[3] += int(r["late_working_days"] or 0)
    found = [(c, n[0], n[1], n[2], n[3]) for c, n in per.items() if n[1] or n[2]]
    return sorted(found, key=lambda c: (-c[2], -c[3], -c[4], c[0]))[:10]


def _overdue(rows: list[dict[str, str]]) -> list[tuple[str, str, str, str, int]]:
    found = [
        (r["case"], r["obligation"], r["rule"], r["deadline"], int(r["late_working_days"] or 0))
        for r in rows
        if r["status"] == "overdue"
    ]
    return sorted(found, key=lambda o: (-o[4], o[0], o[1]))[:10]


_STATUS = st.sampled_from(["fulfilled", "fulfilled_late", "overdue", "open", "blocked"])


@settings(max_examples=60, deadline=None)
@given(
    cases=st.dictionaries(
        st.text("abcdef", min_size=1, max_size=3),
        st.lists(st.tuples(_STATUS, st.integers(0, 30)), min_size=1, max_size=5),
        max_size=40,
    ),
    parts=st.integers(1, 5),
)
def test_the_lists_are_the_same_whatever_the_partitions(
    cases: dict[str, list[tuple[str, int]]], parts: int
) -> None:
    """Each partition keeps its worst cases and most overdue obligations; merged in any
    grouping they are the lists of all the rows at once."""
    rows: list[dict[str, str]] = []
    partials = [Partial() for _ in range(parts)]
    for n, (case, obligations) in enumerate(sorted(cases.items())):
        written = [
            (
                case,
                "r",
                "1",
                f"rule-{i}",
                "x",
                "u",
                "t",
                f"d{i}",
                "",
                status,
                str(days),
                "",
                f"rule-{i}:{case}",
                case,
            )
            for i, (status, days) in enumerate(obligations)
        ]
        partials[n % parts].add_case(case, written)
        rows += [
            dict(
                zip(
                    ("case", "rule", "deadline", "status", "late_working_days", "obligation"),
                    (w[0], w[3], w[7], w[9], w[10], w[12]),
                    strict=True,
                )
            )
            for w in written
        ]
    merged = Partial.merge_all(reversed(partials)).fold()
    assert merged.worst == _worst(rows)
    assert merged.most_overdue == _overdue(rows)


def test_the_listed_cases_events_are_read_in_one_scan(tmp_path: Path) -> None:
    """The pages' events, read for every listed case at once, are each case's own with
    every case's of the types that may count for it, in the order of time and id: as
    filtering every staged event gives them."""
    history, cases = generate_history(3, 40, years=1)
    write_files(cases, tmp_path, files=2)
    routines = list(load_registry(ROUTINES).versions(ROUTINE_ID))
    rules = AuditRules.prepare(routines)
    with Staging(rules, Pseudonymiser(b"0123456789abcdef")) as staging:
        staging.load(find_inputs([str(tmp_path)]), lambda n: None)
        staging.finish(datetime.fromisoformat(f"{history.last.isoformat()}T23:59:59+01:00"))
        every = staging.events_of(None)
        names = sorted({e.case for e in every})
        assert len(names) > 10
        listed = names[::4]
        for also in (set(), {every[0].type, every[-1].type}):
            found = dict(staging.events_of_cases(listed, also))
            assert list(found) == listed
            for case in listed:
                expected = [e for e in every if e.case == case or e.type in also]
                assert found[case] == expected
                assert found[case] == staging.events_of(case, also)
