"""Parameters and variants: ``params:``, ``param.<name>`` and ``extends:``.

``tests/fixtures/variants/base.yaml`` is minimal.yaml with two parameters (2 working days
to reply, the handläggare replies); ``region.yaml`` extends it with 5 days, its own role
and one more rule. A referral on Monday 21 December 2026: 22, 23, 28, 29 and 30 December
are the next five vardagar.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from samverkan_rules import evaluate, load_routine, load_routine_text
from samverkan_rules.routine.load import check_routine_file, check_routine_text
from samverkan_rules.text.markdown import render_markdown
from tests.support import FIXTURES

HERE = FIXTURES / "variants"
EVENTS = [
    {
        "id": "e1",
        "case": "c1",
        "type": "test.referral",
        "at": "2026-12-21T09:00:00+01:00",
        "data": {"due_date": "2026-12-30"},
    }
]
AS_OF = datetime.fromisoformat("2026-12-22T12:00:00+01:00")


def summary(path: Path) -> dict[str, tuple[str | None, str]]:
    result = evaluate(load_routine(path), EVENTS, AS_OF, ledger=True, trace=True)
    return {o.rule: (o.deadline, o.responsible) for o in result.case("c1").obligations}


def test_params_are_used_where_numbers_and_roles_are_written() -> None:
    assert summary(HERE / "base.yaml") == {"reply": ("2026-12-23T23:59:59+01:00", "handlaggare")}


def test_a_variant_overrides_params_roles_and_adds_rules() -> None:
    assert summary(HERE / "region.yaml") == {
        "reply": ("2026-12-30T23:59:59+01:00", "chef"),
        "extra": ("2026-12-26T23:59:59+01:00", "mottagare"),
    }
    routine = load_routine(HERE / "region.yaml")
    assert routine.id == "test-minimal-region"
    assert routine.role_label("chef") == "Regionens enhetschef"
    assert routine.routine.extends == "base.yaml"


def test_a_rule_with_a_base_rules_id_replaces_it_in_place() -> None:
    variant = (HERE / "region.yaml").read_text(encoding="utf-8").replace("id: extra", "id: reply")
    target = HERE / "tmp-replace.yaml"
    target.write_text(variant, encoding="utf-8")
    try:
        assert summary(target) == {"reply": ("2026-12-26T23:59:59+01:00", "mottagare")}
    finally:
        target.unlink()


def test_findings_are_located_in_the_file_that_wrote_them() -> None:
    assert check_routine_file(HERE / "region.yaml").ok
    base = (HERE / "base.yaml").read_text(encoding="utf-8")
    (HERE / "tmp-base.yaml").write_text(base.replace("channel: brevlada", "channel: brevlda"))
    variant = (HERE / "region.yaml").read_text(encoding="utf-8")
    (HERE / "tmp-variant.yaml").write_text(variant.replace("base.yaml", "tmp-base.yaml"))
    try:
        errors = [d for d in check_routine_file(HERE / "tmp-variant.yaml").diagnostics]
    finally:
        (HERE / "tmp-base.yaml").unlink()
        (HERE / "tmp-variant.yaml").unlink()
    assert [(d.file, d.path) for d in errors if d.is_error] == [
        (str(HERE / "tmp-base.yaml"), "rules[0].action.channel")
    ]
    broken = (HERE / "region.yaml").read_text(encoding="utf-8").replace("mottagare}", "motagare}")
    target = HERE / "tmp-broken.yaml"
    target.write_text(broken, encoding="utf-8")
    try:
        errors = [d for d in check_routine_file(target).diagnostics if d.is_error]
    finally:
        target.unlink()
    assert [(d.file, d.path, d.hint) for d in errors] == [
        (str(target), "rules[0].action.responsible", "did you mean 'mottagare'?")
    ]


def test_the_hash_covers_the_base_too() -> None:
    one = load_routine(HERE / "region.yaml").sha256
    base = HERE / "base.yaml"
    text = base.read_text(encoding="utf-8")
    try:
        base.write_text(text + "\n# changed\n", encoding="utf-8")
        two = load_routine(HERE / "region.yaml").sha256
    finally:
        base.write_text(text, encoding="utf-8")
    assert one != two


def test_a_routine_without_params_is_read_as_before() -> None:
    text = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
    assert load_routine_text(text).sha256 == check_routine_text(text).routine.sha256  # type: ignore[union-attr]


def test_render_lists_the_parameters_and_the_base() -> None:
    text = render_markdown(load_routine(HERE / "region.yaml"))
    assert "**Variant av:** `base.yaml`" in text
    assert "| `param.svarsdagar` | 5 | Vardagar att svara | – |" in text


def test_an_extends_cycle_is_reported() -> None:
    target = HERE / "tmp-cycle.yaml"
    target.write_text("extends: tmp-cycle.yaml\n", encoding="utf-8")
    try:
        errors = [d for d in check_routine_file(target).diagnostics if d.is_error]
    finally:
        target.unlink()
    assert [d.code for d in errors] == ["routine.extends-cycle"]


def test_the_routine_schema_admits_a_param_where_a_number_is_written() -> None:
    import jsonschema

    from samverkan_rules.language.yaml import load_yaml_file
    from samverkan_rules.schemas import routine_schema

    data = load_yaml_file(HERE / "base.yaml").data
    jsonschema.validate(data, routine_schema())


def test_render_names_the_parameters_of_a_deadline_and_the_file_of_each_rule() -> None:
    text = render_markdown(load_routine(HERE / "region.yaml"))
    assert "**Skriven i:** `base.yaml`" in text
    assert "**Skriven i:** `region.yaml`" in text
    assert "**Senast:** 5 vardagar efter händelsen (`param.svarsdagar`)" in text
    plain = render_markdown(load_routine(HERE.parent / "minimal.yaml"))
    assert "Skriven i" not in plain and "param." not in plain


def test_a_date_parameter_can_close_a_day() -> None:
    text = (HERE.parent / "minimal.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "roles:\n",
        "params:\n  stangt: {type: date, default: 2026-12-22}\n"
        "calendar: {closed_days: [param.stangt]}\nroles:\n",
        1,
    )
    # 22 December closed: the 2 working days after Monday 21 December are 23 and 28.
    result = evaluate(load_routine_text(text), EVENTS, AS_OF, ledger=True, trace=True)
    assert result.case("c1").obligations[0].deadline == "2026-12-28T23:59:59+01:00"
