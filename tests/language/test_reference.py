"""The generated vocabulary reference page is current and covers every event type."""

from __future__ import annotations

from pathlib import Path

import pytest

from samverkan_rules.language.reference import FIELD_TYPES, main, vocabulary_markdown
from samverkan_rules.language.vocabulary import bundled_vocabulary
from tests.support import ROOT

PAGE = ROOT / "docs" / "vocabulary.md"
REGENERATE = "run `python -m samverkan_rules.language.reference --write docs/vocabulary.md`"


def test_committed_page_is_current() -> None:
    assert PAGE.is_file(), f"{PAGE} is missing; {REGENERATE}"
    committed = PAGE.read_bytes().decode("utf-8")
    assert committed == vocabulary_markdown(bundled_vocabulary()), f"stale; {REGENERATE}"


def test_every_event_type_and_field_is_on_the_page() -> None:
    page = vocabulary_markdown(bundled_vocabulary())
    for name, spec in bundled_vocabulary().event_types.items():
        assert f"### `{name}` – {spec.label}" in page
        for field in spec.fields:
            assert f"| `{field}` |" in page
    assert "| `form` | `enum`: `oral`, `written` | no |" in page


def test_every_field_type_is_explained() -> None:
    from typing import get_args

    from samverkan_rules.language.models.base import FieldType

    assert set(FIELD_TYPES) == set(get_args(FieldType))


def test_check_fails_on_a_stale_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "vocabulary.md"
    assert main(["--check", str(page)]) == 1
    assert main(["--write", str(page)]) == 0
    assert main(["--check", str(page)]) == 0
    page.write_text(page.read_text(encoding="utf-8") + "extra\n", encoding="utf-8")
    assert main(["--check", str(page)]) == 1
    assert "stale" in capsys.readouterr().err
