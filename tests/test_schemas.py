"""The committed JSON Schemas are current, and the bundled files conform to them."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules import evaluate, load_routine
from samverkan_rules.language.models.routine import Routine
from samverkan_rules.language.variants import resolve_variant
from samverkan_rules.language.yaml import load_yaml_file
from samverkan_rules.routine.load import routine_files
from samverkan_rules.schemas import (
    DRAFT,
    SCHEMAS,
    evaluation_schema,
    event_schema,
    render,
    routine_schema,
    schema_id,
)
from tests.support import ROOT, event

SCHEMA_DIR = ROOT / "schemas"
ROUTINES = sorted(routine_files([ROOT / "routines"]))
SCENARIOS = sorted((ROOT / "routines" / "tests").glob("*/*.y*ml"))
SCHEMA_COMMENT = "# yaml-language-server: $schema=../schemas/routine.schema.json"
SCENARIO_SCHEMA_COMMENT = "# yaml-language-server: $schema=../../../schemas/scenario.schema.json"
REGENERATE = "run `samverkan schema --write schemas` and commit the result"


def _validator(schema: dict[str, Any]) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _messages(validator: Any, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    ]


@pytest.mark.parametrize("file_name", sorted(SCHEMAS))
def test_committed_schema_is_current(file_name: str) -> None:
    path = SCHEMA_DIR / file_name
    assert path.is_file(), f"{path} is missing; {REGENERATE}"
    committed = path.read_bytes().decode("utf-8")
    assert committed == render(SCHEMAS[file_name]()), f"{path} is stale; {REGENERATE}"


@pytest.mark.parametrize("file_name", sorted(SCHEMAS))
def test_schema_header(file_name: str) -> None:
    schema = SCHEMAS[file_name]()
    assert schema["$schema"] == DRAFT
    assert schema["$id"] == schema_id(file_name)
    assert schema["title"].startswith("samverkan-rules ")


def test_render_is_byte_stable() -> None:
    schema = routine_schema()
    text = render(schema)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert render(json.loads(text)) == text
    assert "å" in render({"x": "å"})  # UTF-8 kept, not \u-escaped


def test_routine_schema_speaks_yaml() -> None:
    """Aliased keys appear as written in routine files, and '07:30' is a valid time."""
    text = render(routine_schema())
    for key in ('"from"', '"if"', '"not"', '"in"'):
        assert key in text
    assert '"format": "time"' not in text


@pytest.mark.parametrize("routine", ROUTINES, ids=lambda p: p.name)
def test_routine_file_points_editors_at_the_schema(routine: Path) -> None:
    first = routine.read_text(encoding="utf-8").splitlines()[0]
    assert first == SCHEMA_COMMENT


@pytest.mark.parametrize("routine", ROUTINES, ids=lambda p: p.name)
def test_routine_file_conforms_to_schema(routine: Path) -> None:
    validator = _validator(json.loads((SCHEMA_DIR / "routine.schema.json").read_text("utf-8")))
    doc = load_yaml_file(routine)
    if "extends" in doc.data:  # a variant conforms once merged with what it extends
        doc, problems = resolve_variant(doc, load_yaml_file)
        assert problems == []
    assert _messages(validator, doc.data) == []


def test_there_are_scenario_files() -> None:
    assert SCENARIOS, "routines/tests/ holds no scenario file"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_scenario_file_points_editors_at_the_schema(scenario: Path) -> None:
    first = scenario.read_text(encoding="utf-8").splitlines()[0]
    assert first == SCENARIO_SCHEMA_COMMENT
    target = (scenario.parent / first.partition("$schema=")[2]).resolve()
    assert target == (SCHEMA_DIR / "scenario.schema.json").resolve()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_scenario_file_conforms_to_schema(scenario: Path) -> None:
    validator = _validator(json.loads((SCHEMA_DIR / "scenario.schema.json").read_text("utf-8")))
    assert _messages(validator, load_yaml_file(scenario).data) == []


def test_scenario_schema_refuses_unknown_keys() -> None:
    validator = _validator(json.loads((SCHEMA_DIR / "scenario.schema.json").read_text("utf-8")))
    data = load_yaml_file(SCENARIOS[0]).data
    data["scenarios"][0]["expect"]["actoins"] = []
    assert any("actoins" in m for m in _messages(validator, data))


def test_routine_schema_refuses_unknown_keys() -> None:
    validator = _validator(routine_schema())
    data = load_yaml_file(ROUTINES[0]).data
    data["rules"][0]["deadlien"] = {"after": "trigger", "days": 1}
    assert any("deadlien" in m for m in _messages(validator, data))


def test_event_schema() -> None:
    validator = _validator(event_schema())
    good = event(id="e1", type="consent.given", at="2026-12-01T09:00:00+01:00", form="written")
    assert _messages(validator, good) == []
    assert _messages(validator, {**good, "at": "2026-12-01T09:00:00"})  # naive
    assert _messages(validator, {**good, "extra": 1})
    assert _messages(validator, {k: v for k, v in good.items() if k != "case"})


def test_evaluation_output_conforms_to_schema() -> None:
    validator = _validator(evaluation_schema())
    routine = load_routine(ROUTINES[0])
    events: list[dict[str, Any]] = [
        event(
            id="e1",
            type="dagverksamhet.start_planned",
            at="2026-12-01T10:00:00+01:00",
            start_date="2026-12-28",
        ),
        {"id": "e2", "case": "c1", "type": "no.such.type", "at": "2026-12-01T11:00:00+01:00"},
    ]
    result = evaluate(routine, events, datetime.fromisoformat("2026-12-30T12:00:00+01:00"))
    assert _messages(validator, json.loads(result.to_json())) == []


def test_field_docstrings_describe_the_routine_schema() -> None:
    """The docstring under a field describes it, read from the source when the schema is
    written (the root's fields, a nested model's, one spelled by an alias in YAML), while
    the models themselves carry no field descriptions (reading them costs every start-up)."""
    schema = routine_schema()
    defs = schema["$defs"]
    assert schema["properties"]["valid_to"]["description"] == (
        "Last day this version is in force; open-ended when absent."
    )
    assert defs["Reachability"]["properties"]["from"]["description"] == (
        "Local time from which the role is reachable, e.g. '07:30'."
    )
    assert defs["Rule"]["properties"]["before"]["description"].startswith(
        'An event the obligation must precede ("innan kontakt tas"): the first event'
    )
    assert "description" not in schema["properties"]["source"]  # no docstring under it
    assert Routine.model_fields["valid_to"].description is None
