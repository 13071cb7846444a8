"""The readable rendering of a routine (``samverkan render``) and its pure functions."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from samverkan_rules.cli import main
from samverkan_rules.compile.routine import CompiledRoutine
from samverkan_rules.i18n import translator
from samverkan_rules.language.models.conditions import AllOf, Comparison, NotOf
from samverkan_rules.language.models.schedules import Schedule
from samverkan_rules.language.models.time import TimeSpec
from samverkan_rules.routine.load import load_routine
from samverkan_rules.text.html import render_html
from samverkan_rules.text.markdown import render_markdown
from samverkan_rules.text.words import condition_text, schedule_text, timespec_text
from tests.support import FIXTURES, ROUTINES

OREBRO = ROUTINES / "orebro-dagverksamhet-hemvard.yaml"
KATRINEHOLM = ROUTINES / "katrineholm-hemtjanst-vardcentral.yaml"
START_QUOTE = "Meddelandet skickas senast 2 vardagar innan planerad start eller avslut."
NO_INTERPRETATION = "Ingen – regeln följer rutinens ord."
LSS = ROUTINES / "lss-bostad-daglig-verksamhet.yaml"
EN = translator("en")


@pytest.fixture(scope="module")
def orebro() -> CompiledRoutine:
    return load_routine(OREBRO)


def _section(markdown: str, rule_id: str) -> str:
    """The Markdown of one rule's section."""
    match = re.search(rf"^### .*\(`{re.escape(rule_id)}`\)$(.*?)(?=^##|\Z)", markdown, re.M | re.S)
    assert match is not None, rule_id
    return match.group(1)


@pytest.mark.parametrize("path", sorted(ROUTINES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_routine_renders_deterministically(path: Path) -> None:
    routine = load_routine(path)
    markdown = render_markdown(routine)
    page = render_html(routine)
    assert markdown == render_markdown(load_routine(path))
    assert page == render_html(routine)
    assert markdown.startswith(f"# {routine.routine.title}\n")
    assert markdown.endswith("\n") and not markdown.endswith("\n\n")
    for rule in routine.routine.rules:
        assert f"(`{rule.id}`)" in markdown
        assert f"<code>{rule.id}</code>" in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_orebro_metadata(orebro: CompiledRoutine) -> None:
    md = render_markdown(orebro)
    assert "**Rutin-id:** `orebro-dagverksamhet-hemvard`" in md
    assert "**Version:** 2" in md
    assert "**Organisation:** Örebro kommun" in md
    assert "**Giltighet:** från 1 januari 2020 (tills vidare)" in md
    assert "sources/orebro-dagverksamhet-hemvard.txt)" in md
    assert "**Rättslig grund:** SoL, HSL, OSL 26 kap." in md
    # the routine-level interpretation of valid_from is marked as a local choice
    tolk = md.split("## Tolkningar på rutinnivå", 1)[1].split("## Roller", 1)[0]
    assert "`valid_from`" in tolk and "Tolkning (lokalt val, inte rutinens ord)" in tolk
    # roles and channels tables
    assert (
        "| `dagverksamhet` | Dagverksamheten | dagverksamhet | vardagar 07.30–15.00 "
        "(annars: Röstbrevlåda) | Enhetschef för dagverksamheten (`enhetschef.dagverksamhet`) |"
    ) in md
    assert "| `telefon.dagverksamhet` | Dagverksamhetens telefon | telefon | – |" in md


def test_orebro_start_message(orebro: CompiledRoutine) -> None:
    section = _section(render_markdown(orebro), "start-message")
    assert "**När:** Planerad start på dagverksamhet (`dagverksamhet.start_planned`)" in section
    assert "**Senast:** 2 vardagar före planerat startdatum" in section
    assert "**Kräver:** Samtycke till informationsöverföring (`consent`)" in section
    assert "**Ansvarig:** Dagverksamheten (`dagverksamhet`)" in section
    assert "(`hemvard.driftsplanerare`)" in section
    assert "- veckodagar" in section
    # fields by their description in the vocabulary, roles by their labels (issue 7, item 8)
    assert "meddelandets ämne är start" in section
    assert (
        "mottagarna innehåller Driftsplanerare/Verksamhetsstödjare/extern utförare "
        "(`hemvard.driftsplanerare`)"
    ) in section
    assert (
        "kopplad till den utlösande händelsen: händelsen som meddelandet gäller är den "
        "utlösande händelsens id"
    ) in section
    assert "data." not in section and "trigger.id" not in section
    assert "**Avbryts av:**" in section
    assert f"> {START_QUOTE}\n>\n> — Start eller avslut på Dagverksamhet" in section
    assert "> ⚠ **Tolkning (lokalt val, inte rutinens ord):** Dokumentet säger inget" in section


def test_a_rule_without_interpretation_says_so() -> None:
    md = render_markdown(load_routine(FIXTURES / "minimal.yaml"))
    assert f"**Tolkning:** {NO_INTERPRETATION}" in _section(md, "reply")


def test_interpretations_are_marked(orebro: CompiledRoutine) -> None:
    md = render_markdown(orebro)
    section = _section(md, "consent-at-enrolment")
    # The reason comes first, so the row reads as an interpretation, not as a quote.
    assert (
        "> ⚠ **Tolkning (lokalt val, inte rutinens ord):** Ingen frist anges; "
        '"vid inskrivning" tolkas som senast vid slutet av inskrivningsdagen. '
        "(Gäller rutinens ord ”Vid inskrivning”.)\n" in section
    )
    assert NO_INTERPRETATION not in section
    page = render_html(orebro)
    assert '<p class="interpretation">⚠ <strong>Tolkning (lokalt val' in page
    interpreted = sum(1 for r in orebro.routine.rules if r.interpretation is not None)
    assert interpreted > 0
    assert md.count("Tolkning (lokalt val, inte rutinens ord)") >= interpreted


def test_katrineholm_schedules() -> None:
    md = render_markdown(load_routine(KATRINEHOLM))
    schedules = md.split("## Scheman", 1)[1].split("\n## ", 1)[0]
    assert (
        "varje tisdag, kl. 13.30 (30 minuter); utgår när dagen är en lördag, söndag, helgdag, "
        "midsommarafton, julafton eller nyårsafton"
    ) in schedules
    assert "varje tisdag, kl. 15.00, ojämna veckor" in schedules
    assert "**Upprättad:** 2025-03-18" in md  # the document's own record, as written
    assert "**Senast:** vid nästa tillfälle för ”Digital samverkan med Lindens VC" in md


def test_words() -> None:
    both = AllOf.model_validate(
        {
            "all": [
                {"field": "data.kind", "in": ["start", "end"]},
                {"not": {"field": "fact.consent", "equals": True}},
                {"any": [{"field": "data.x", "exists": False}, {"field": "data.n", "gte": 2}]},
            ]
        }
    )
    assert condition_text(both) == (
        "alla av: (data.kind är en av start, end; inte: (fact.consent gäller); "
        "någon av: (data.x saknas; data.n är minst 2))"
    )
    assert isinstance(NotOf.model_validate({"not": {"field": "case", "exists": True}}), NotOf)
    assert condition_text(Comparison.model_validate({"field": "type", "not_equals": "a"})) == (
        "type är inte a"
    )
    spec = TimeSpec.model_validate(
        {"before": "data.date", "days": 1, "on_non_working_day": "previous_working_day"}
    )
    assert timespec_text(spec) == (
        "1 kalenderdag före data.date; flyttas den till föregående vardag om den infaller på en "
        "lördag, söndag, helgdag, midsommarafton, julafton eller nyårsafton"
    )
    assert timespec_text(TimeSpec.model_validate({"after": "trigger", "weeks": 1})) == (
        "1 vecka efter händelsen"
    )
    noon = TimeSpec.model_validate({"after": "trigger", "working_days": 1, "time": "12:00"})
    assert timespec_text(noon) == "1 vardag efter händelsen, kl. 12.00"
    month_end = Schedule.model_validate(
        {"label": "Månadsslut", "every": "month_end", "units": ["u"]}
    )
    assert schedule_text(month_end) == "sista dagen i varje månad"


def test_html_escapes_text(orebro: CompiledRoutine) -> None:
    routine = orebro.routine
    rules = list(routine.rules)
    rules[0] = rules[0].model_copy(update={"title": "<script>alert(1)</script> & co"})
    tampered = dataclasses.replace(orebro, routine=routine.model_copy(update={"rules": rules}))
    page = render_html(tampered)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert "<style>" in page and 'lang="sv"' in page


# --------------------------------------------------------------------------- CLI


def test_cli_markdown_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", str(OREBRO)]) == 0
    out = capsys.readouterr().out
    assert out == render_markdown(load_routine(OREBRO))
    assert START_QUOTE in out


def test_cli_html_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "orebro.html"
    assert main(["render", str(OREBRO), "--format", "html", "--out", str(target)]) == 0
    assert capsys.readouterr().out == ""
    text = target.read_text(encoding="utf-8")
    assert text == render_html(load_routine(OREBRO))
    assert "2 vardagar före planerat startdatum" in text


def test_cli_bad_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", str(tmp_path / "missing.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["render", str(tmp_path)]) == 2
    assert "not a file" in capsys.readouterr().err
    out = tmp_path / "no-such-dir" / "x.md"
    assert main(["render", str(OREBRO), "--out", str(out)]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert main(["render", str(OREBRO), "--format", "pdf"]) == 2


def test_cli_broken_routine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = OREBRO.read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        text.replace("responsible: dagverksamhet\n", "responsible: no.such.role\n", 1),
        encoding="utf-8",
    )
    assert main(["render", str(broken)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.search(rf"{re.escape(str(broken))}:\d+:\d+: .*no\.such\.role", captured.err)
    assert "samverkan render: error:" in captured.err


# --------------------------------------------------------------------------- for reviewers


def test_words_in_english() -> None:
    both = AllOf.model_validate(
        {
            "all": [
                {"field": "data.kind", "in": ["start", "end"]},
                {"not": {"field": "fact.consent", "equals": True}},
                {"field": "data.n", "lt": 2},
            ]
        }
    )
    assert condition_text(both, EN) == (
        "all of: (data.kind is one of start, end; not: (fact.consent holds); data.n is less than 2)"
    )
    spec = TimeSpec.model_validate(
        {"after": "trigger", "days": 3, "on_non_working_day": "next_working_day"}
    )
    assert timespec_text(spec, t=EN) == (
        "3 calendar days after the event; moved to the next working day when it falls on a "
        "Saturday, Sunday, public holiday, Midsummer Eve, Christmas Eve or New Year's Eve"
    )
    assert timespec_text(TimeSpec.model_validate({"after": "trigger", "days": 1}), t=EN) == (
        "1 calendar day after the event"
    )
    weekly = Schedule.model_validate(
        {
            "label": "x",
            "every": "week",
            "weekday": "tuesday",
            "time": "15:00",
            "iso_weeks": "odd",
            "on_non_working_day": "skip",
            "units": ["u"],
        }
    )
    assert schedule_text(weekly, EN) == (
        "every Tuesday, at 15:00, odd weeks; left out when the day is a Saturday, Sunday, "
        "public holiday, Midsummer Eve, Christmas Eve or New Year's Eve"
    )


def test_calendar_days_are_named_so() -> None:
    spec = TimeSpec.model_validate({"after": "trigger", "days": 7})
    assert timespec_text(spec) == "7 kalenderdagar efter händelsen"
    assert timespec_text(TimeSpec.model_validate({"after": "trigger", "days": 1})) == (
        "1 kalenderdag efter händelsen"
    )
    katrineholm = render_markdown(load_routine(KATRINEHOLM))
    assert (
        "**Senast:** 1 kalenderdag före tillfällets dag; flyttas den till föregående" in katrineholm
    )
    for path in sorted(ROUTINES.glob("*.yaml")):
        md = render_markdown(load_routine(path))
        assert not re.search(r"\d+ dagar? (före|efter)", md), path.name


def test_the_working_day_move_names_weekends_and_holidays() -> None:
    for policy, words in [
        ("next_working_day", "flyttas den till nästa vardag"),
        ("previous_working_day", "flyttas den till föregående vardag"),
        ("keep", "behålls den även"),
    ]:
        spec = TimeSpec.model_validate(
            {"after": "trigger", "months": 1, "on_non_working_day": policy}
        )
        assert timespec_text(spec).endswith(
            f"; {words} om den infaller på en lördag, söndag, helgdag, midsommarafton, julafton "
            "eller nyårsafton"
        )
        assert "helgdag" in timespec_text(spec) and "lördag" in timespec_text(spec)


def test_anchors_and_conditions_in_words(orebro: CompiledRoutine) -> None:
    md = render_markdown(orebro)
    assert "**Senast:** 2 vardagar före sista dagen på dagverksamheten" in _section(
        md, "end-message"
    )
    # a condition on a fact names the fact by its label
    hemsjuk = _section(md, "start-message-hemsjukvard")
    assert (
        "**När:** Planerad start på dagverksamhet (`dagverksamhet.start_planned`), om ”" in hemsjuk
    )
    assert "fact." not in hemsjuk
    en = render_markdown(orebro, EN)
    assert "**By:** 2 working days before planerat startdatum" in _section(en, "start-message")


def test_escalation_names_the_role_it_reaches() -> None:
    routine = load_routine(LSS)
    md = render_markdown(routine)
    escalations = [
        (rule, i)
        for rule in routine.routine.rules
        for i, esc in enumerate(rule.escalation)
        if esc.levels_up is not None
    ]
    assert escalations
    for rule, i in escalations:
        reached = routine.rule(rule.id).escalations[i].role
        label = routine.routine.roles[reached].label
        assert f"till {label} (`{reached}`), 1 nivå upp i linjen" in _section(md, rule.id)


def test_facts_and_event_types_are_listed(orebro: CompiledRoutine) -> None:
    md = render_markdown(orebro)
    facts = md.split("\n## Fakta\n", 1)[1].split("\n## ", 1)[0]
    for name, fact in orebro.routine.facts.items():
        assert f"| `{name}` | {fact.label} |" in facts
    assert "Samtycke lämnat (`consent.given`): sätter ja" in facts
    types = md.split("\n## Händelsetyper\n", 1)[1].split("\n## ", 1)[0]
    for rule in orebro.routine.rules:
        if rule.when.event is not None:
            assert f"| `{rule.when.event}` |" in types
    assert "`start_date` (krävs): planerat startdatum" in types
    en = render_markdown(orebro, EN)
    assert "\n## Facts\n" in en and "\n## Event types\n" in en
    assert "`start_date` (required): planerat startdatum" in en


def test_english_rendering_has_no_swedish_frame(orebro: CompiledRoutine) -> None:
    md = render_markdown(orebro, EN)
    for word in (
        "**Rutin-id:**",
        "**Senast:**",
        "**Ansvarig:**",
        "## Regler",
        "vardagar före",
        "efter händelsen",
    ):
        assert word not in md
    assert "**Routine id:** `orebro-dagverksamhet-hemvard`" in md
    assert "**Validity:** from 1 January 2020 (until further notice)" in md
    # every bundled rule says what it decides locally
    assert "**Interpretation (a local choice, not the routine's words):**" in md
    minimal = load_routine(FIXTURES / "minimal.yaml")
    assert "**Interpretation:** None – the rule follows the routine's words." in render_markdown(
        minimal, EN
    )
    page = render_html(orebro, EN)
    assert 'lang="en"' in page and "<strong>Responsible:</strong>" in page


def test_html_escapes_text_in_english_too(orebro: CompiledRoutine) -> None:
    routine = orebro.routine
    facts = dict(routine.facts)
    name = next(iter(facts))
    facts[name] = facts[name].model_copy(update={"label": "<b>fet</b> & <i>"})
    tampered = dataclasses.replace(orebro, routine=routine.model_copy(update={"facts": facts}))
    page = render_html(tampered, EN)
    assert "<b>" not in page and "<i>" not in page
    assert "&lt;b&gt;fet&lt;/b&gt; &amp; &lt;i&gt;" in page


@pytest.mark.parametrize("how", ["option", "environment"])
def test_cli_render_in_english(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "option":
        monkeypatch.setenv("LANG", "sv_SE.UTF-8")
        assert main(["render", str(OREBRO), "--lang", "en"]) == 0
    else:
        monkeypatch.setenv("LANG", "en_US.UTF-8")
        assert main(["render", str(OREBRO)]) == 0
    out = capsys.readouterr().out
    assert out == render_markdown(load_routine(OREBRO), EN)
    assert main(["render", str(OREBRO), "--lang", "sv"]) == 0
    assert capsys.readouterr().out == render_markdown(load_routine(OREBRO))


def test_omissions_and_cancel_interpretations_are_rendered() -> None:
    katrineholm = load_routine(ROUTINES / "katrineholm-hemtjanst-vardcentral.yaml")
    text = render_markdown(katrineholm)
    heading = text.index("## Inte kodat i rutinen")
    assert text.index("> Glöm inte att avsluta efter genomfört möte!") > heading
    assert "**Varför:** En praktisk påminnelse om att lämna det digitala mötesrummet" in text
    assert "<h2>Not encoded</h2>" in render_html(katrineholm, translator("en"))
    beslut = render_markdown(load_routine(ROUTINES / "dagverksamhet-beslut.yaml"))
    assert "(`dagverksamhet.start_planned`): Ett ärende i denna rutin gäller ett beslut" in beslut
    assert "> Kontakt med personal på dagverksamheten skall främst tas tidigt" in beslut
    # A routine that lists no omissions has no such section.
    utskrivning = render_markdown(load_routine(ROUTINES / "utskrivning-sluten-vard.yaml"))
    assert "Inte kodat i rutinen" not in utskrivning


def test_a_fact_taking_a_fields_value_names_the_field_once(orebro: CompiledRoutine) -> None:
    md = render_markdown(orebro)
    row = next(line for line in md.splitlines() if line.startswith("| `hemsjukvard` | Personen"))
    assert (
        "Inskrivning i dagverksamhet (`dagverksamhet.enrolled`): får värdet av "
        "”personen har hemsjukvård”, när den finns |" in row
    )
    english = render_markdown(orebro, translator("en"))
    assert "takes the value of “personen har hemsjukvård”, when it is given" in english
