"""The shared event vocabulary bundled with the package (``data/vocabulary.yaml``)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from pydantic import ValidationError

from samverkan_rules.errors import RoutineError
from samverkan_rules.language.models.base import (
    Vocabulary,
)
from samverkan_rules.language.validation import located_errors
from samverkan_rules.language.yaml import load_yaml
from samverkan_rules.language.yaml_core import Limits


@lru_cache(maxsize=1)
def bundled_vocabulary() -> Vocabulary:
    """The shared event vocabulary shipped with the package (read once, immutable)."""
    text = resources.files("samverkan_rules").joinpath("data/vocabulary.yaml").read_text("utf-8")
    # The package's own file: the defaults, whatever SAMVERKAN_YAML_MAX_* says.
    doc = load_yaml(text, file="samverkan_rules/data/vocabulary.yaml", limits=Limits())
    try:
        return Vocabulary.model_validate(doc.data)
    except ValidationError as exc:  # pragma: no cover - guarded by the test suite
        raise RoutineError(
            "the bundled vocabulary is invalid",
            located_errors(exc, doc, Vocabulary, prefix="schema"),
        ) from None
