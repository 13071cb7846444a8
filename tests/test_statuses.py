"""The seven statuses are defined once (samverkan_rules.status); every list of them agrees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

from samverkan_rules.audit.models import STATUSES as REPORT_ORDER
from samverkan_rules.i18n import translator
from samverkan_rules.status import ACTION_STATUSES, STATUSES, Status, status_label

ROOT = Path(__file__).resolve().parents[1]


def test_the_tuple_is_the_literal_in_its_order() -> None:
    assert get_args(Status) == STATUSES
    assert STATUSES == (
        "upcoming",
        "due",
        "fulfilled",
        "fulfilled_late",
        "overdue",
        "cancelled",
        "blocked",
    )


def test_action_statuses_are_the_unsettled_ones() -> None:
    assert {"upcoming", "due", "overdue", "blocked"} == ACTION_STATUSES
    assert set(STATUSES) >= ACTION_STATUSES


def test_the_audit_report_lists_every_status_once() -> None:
    assert sorted(REPORT_ORDER) == sorted(STATUSES)
    assert len(REPORT_ORDER) == len(set(REPORT_ORDER))


def test_the_evaluation_schema_lists_the_statuses_in_order() -> None:
    schema = json.loads((ROOT / "schemas" / "evaluation.schema.json").read_text("utf-8"))
    assert schema["$defs"]["Obligation"]["properties"]["status"]["enum"] == list(STATUSES)


def test_every_status_has_a_swedish_label() -> None:
    sv = translator("sv")
    labels = [status_label(s, sv) for s in STATUSES]
    assert not set(labels) & set(STATUSES)
    assert len(set(labels)) == len(STATUSES)
