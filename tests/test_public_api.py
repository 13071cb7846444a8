"""The public API is named once in ``samverkan_rules/__init__.py``, and what it exports
(``__all__``), what it loads (``_LAZY``), what type checkers see (the ``TYPE_CHECKING``
imports) and what its docstring documents all agree."""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import re
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import samverkan_rules

SOURCE = Path(inspect.getfile(samverkan_rules))


def _type_checking_imports() -> dict[str, str]:
    """Name -> module of every import under ``if TYPE_CHECKING:``."""
    tree = ast.parse(SOURCE.read_text("utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module
                for alias in imp.names:
                    found[alias.asname or alias.name] = imp.module
    return found


def _documented() -> set[str]:
    """The names listed under the docstring's API headings."""
    doc = samverkan_rules.__doc__ or ""
    listing = doc.split("Routines:", 1)[1]
    return set(re.findall(r"[A-Za-z_]\w*", re.sub(r"^\S.*:$", "", listing, flags=re.M)))


def test_exports_loads_and_type_checking_agree() -> None:
    lazy = samverkan_rules._LAZY
    assert set(samverkan_rules.__all__) == {*lazy, "__version__"}
    assert samverkan_rules.__all__ == sorted(samverkan_rules.__all__, key=str)
    assert _type_checking_imports() == lazy


def test_every_public_name_is_documented() -> None:
    assert _documented() == set(samverkan_rules._LAZY)


def test_every_public_name_resolves_to_its_home() -> None:
    for name, module in samverkan_rules._LAZY.items():
        assert getattr(samverkan_rules, name) is getattr(import_module(module), name), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        samverkan_rules.evaluate_everything  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "evaluate_everything" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("an unknown name resolved")


def test_the_version_is_the_installed_distributions() -> None:
    assert samverkan_rules.__version__ == importlib.metadata.version("samverkan-rules")


def test_importing_the_package_loads_no_implementation() -> None:
    code = (
        "import sys, samverkan_rules\n"
        "print(sorted(m for m in sys.modules if m.startswith('samverkan_rules')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['samverkan_rules', 'samverkan_rules._version']"
