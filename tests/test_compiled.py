"""The compiled build (``SAMVERKAN_COMPILE=1``, mypyc, see ``setup.py``): what it compiles, and
that what it compiles keeps to what mypyc runs the same way as Python.

CI runs the whole suite a second time from a tree holding the compiled wheel's extension
modules, with ``SAMVERKAN_EXPECT_COMPILED=1``: there the last test checks that each listed
module really is imported as an extension, so a green run of that suite is a run of the
compiled engine.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.util
import os
import pickle
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from samverkan_rules.events.model import Event

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
COMPILED: list[str] = PYPROJECT["tool"]["samverkan-rules"]["compiled"]


def _source(module: str) -> Path:
    return ROOT / (module.replace(".", "/") + ".py")


def _backend() -> Any:
    """The in-tree build backend (``build_backend/samverkan_build.py``), imported as pip does."""
    sys.path.insert(0, str(ROOT / "build_backend"))
    try:
        return importlib.import_module("samverkan_build")
    finally:
        sys.path.remove(str(ROOT / "build_backend"))


def test_the_compiled_modules_are_modules_of_the_package() -> None:
    assert COMPILED, "the compiled build compiles nothing"
    assert len(set(COMPILED)) == len(COMPILED)
    for module in COMPILED:
        assert module.startswith("samverkan_rules."), module
        assert _source(module).is_file(), module


def test_the_build_compiles_with_the_mypy_the_project_checks_with() -> None:
    backend = _backend()
    dev = PYPROJECT["project"]["optional-dependencies"]["dev"]
    assert backend.MYPY in dev


def test_the_build_backend_asks_for_mypy_only_when_compiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = _backend()
    monkeypatch.delenv("SAMVERKAN_COMPILE", raising=False)
    assert backend._compiler() == []
    monkeypatch.setenv("SAMVERKAN_COMPILE", "1")
    asked = backend._compiler()
    assert asked[0] == backend.MYPY
    assert set(PYPROJECT["project"]["dependencies"]) <= set(asked)


@pytest.mark.parametrize("module", COMPILED)
def test_a_compiled_module_keeps_to_what_compiles_the_same(module: str) -> None:
    """mypyc compiles these, but its classes behave otherwise: a ``cached_property`` is
    computed on every access (a routine's reference fields were rebuilt 36 times a case), and
    ``copy.copy`` of an instance fails. (What mypyc cannot compile at all, such as a subclass
    of ``list``, the build refuses with its own message.)"""
    tree = ast.parse(_source(module).read_text(encoding="utf-8"))
    names = {
        n.attr if isinstance(n, ast.Attribute) else n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute | ast.Name)
    }
    assert "cached_property" not in names, f"{module}: cached_property is not cached compiled"
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "copy" not in imported, f"{module}: copy.copy of a compiled object fails"


def test_an_event_pickles_by_its_constructor() -> None:
    """Events travel to the audit's worker processes and Dask workers pickled; compiled,
    a frozen class takes no state after construction, so an event pickles as its
    constructor's arguments, ``utc`` computed again."""
    at = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    event = Event("e1", "c1", "hemvard.enrolled", at, {"enhet": "Norr"}, line=4, file="a.jsonl")
    back = pickle.loads(pickle.dumps(event))
    assert back == event
    assert (back.line, back.file, back.utc, dict(back.data)) == (
        4,
        "a.jsonl",
        at,
        {"enhet": "Norr"},
    )


@pytest.mark.skipif(
    os.environ.get("SAMVERKAN_EXPECT_COMPILED") != "1",
    reason="the compiled build's run only (SAMVERKAN_EXPECT_COMPILED=1)",
)
@pytest.mark.parametrize("module", COMPILED)
def test_the_module_is_imported_compiled(module: str) -> None:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    assert spec.origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), spec.origin
