"""The evaluation's JSON contract (samverkan_rules.records) and the engine's fast path agree.

``records`` is a leaf: it describes the output and imports nothing of the engine, so the
schema and embedding systems can read it alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "samverkan_rules"

LEAVES = frozenset(
    {
        "samverkan_rules._json",
        "samverkan_rules.diagnostics",
        "samverkan_rules.i18n",
        "samverkan_rules.status",
    }
)
"""What ``records`` may import of the package (type-checking imports included)."""


def _package_imports(module: str) -> set[str]:
    """The modules of the package that ``module``'s source imports, at any level."""
    path = PACKAGE.joinpath(*module.split(".")[1:])
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module == "samverkan_rules":
                found.update(f"samverkan_rules.{a.name}" for a in node.names)
            else:
                found.add(node.module)
    return {name for name in found if name.startswith("samverkan_rules")}


def test_records_is_a_leaf() -> None:
    seen: set[str] = set()
    pending = ["samverkan_rules.records"]
    while pending:
        for name in _package_imports(pending.pop()) - seen:
            seen.add(name)
            pending.append(name)
    assert seen <= LEAVES, sorted(seen - LEAVES)
