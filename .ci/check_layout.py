"""Hold the package's shape: module and function sizes, and where imports may stand.

Run from the repository root (CI does): ``python .ci/check_layout.py``. Exit 1 with one
line per finding, 0 when the package keeps to these rules:

- no module over 800 lines and no function over 80: when one grows, the banner inside it is
  the seam to cut along;
- an import inside a function is only for an optional extra: a third-party package of an
  extra (`EXTRAS`), or a module of this package that needs one at import time. Any other
  function-level import hides an import circle or a layer crossed upwards, which the
  layers contract in pyproject.toml (``lint-imports``) must be able to see.

``--root DIR`` checks the package under DIR instead (the tests plant findings in a copy).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "samverkan_rules"
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 80

EXTRAS = frozenset(
    {
        "dask",  # audit-dask
        "distributed",  # audit-dask
        "duckdb",  # audit
        "durable",  # live
        "durable_rules_engine",  # live
        "jinja2",  # audit
        "personnummer",  # audit
        "psycopg",  # postgres
        "psycopg_pool",  # postgres
        "starlette",  # serve
        "tqdm",  # audit
        "uvicorn",  # serve
        "xlsxwriter",  # audit
    }
)
"""Top-level names of the packages that only an extra installs."""

LAZY_ALLOWED = frozenset({"holidays"})
LATE_BY_DESIGN = frozenset({("samverkan_rules/__main__.py", "samverkan_rules.cli")})
"""Imports of the package that must come late: the entry point sets the SIGINT handler
before it imports the command line (see its docstring)."""
"""Core dependencies imported inside a function on purpose: ``holidays`` only recomputes
the bundled holiday table (``compute_holiday_table``), which evaluating never needs, and
its import costs more than the rest of a command's startup."""


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(tree: ast.Module) -> Iterator[str]:
    for node in tree.body:
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


def _needs_extra(trees: dict[str, ast.Module]) -> set[str]:
    """Modules of the package that import an extra when they are imported, directly or
    through other modules of the package."""
    direct = {name: set(_top_level_imports(tree)) for name, tree in trees.items()}
    needing = {
        name for name, targets in direct.items() if any(t.split(".")[0] in EXTRAS for t in targets)
    }
    changed = True
    while changed:
        changed = False
        for name, targets in direct.items():
            if name not in needing and targets & needing:
                needing.add(name)
                changed = True
    return needing


def _function_imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Import):
                yield from ((node.lineno, a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield node.lineno, node.module


def findings(root: Path) -> list[str]:
    """Every breach of the rules above in the package under ``root``, sorted."""
    package = root / PACKAGE
    paths = sorted(package.rglob("*.py"))
    trees = {_module_name(root, p): ast.parse(p.read_text("utf-8"), str(p)) for p in paths}
    needing = _needs_extra(trees)
    out: list[str] = []
    for path in paths:
        shown = path.relative_to(root).as_posix()
        lines = path.read_text("utf-8").count("\n")
        if lines > MAX_MODULE_LINES:
            out.append(f"{shown}: {lines} lines, over {MAX_MODULE_LINES}: cut it along a seam")
        tree = trees[_module_name(root, path)]
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (fn.end_lineno or fn.lineno) - fn.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    out.append(
                        f"{shown}:{fn.lineno}: {fn.name} has {size} lines, over "
                        f"{MAX_FUNCTION_LINES}: cut it into named steps"
                    )
        for line, target in _function_imports(tree):
            top = target.split(".")[0]
            if top == PACKAGE:
                if target in needing or (shown, target) in LATE_BY_DESIGN:
                    continue
            elif top in EXTRAS or top in LAZY_ALLOWED or top in sys.stdlib_module_names:
                continue
            out.append(
                f"{shown}:{line}: {target} is imported inside a function; import it at the "
                "top of the module (only an optional extra may load late)"
            )
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root")
    args = parser.parse_args(argv)
    found = findings(args.root)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} finding(s)", file=sys.stderr)
        return 1
    print("layout: every module and function within its size; late imports only for extras")
    return 0


if __name__ == "__main__":
    sys.exit(main())
