"""The compiled engine beside the pure one: every figure of ``bench.py``, both ways, in one run.

Run from the repository root (needs the ``dev`` extra, for mypy)::

    python benchmarks/compiled_bench.py                 # full sizes (about 6 minutes)
    python benchmarks/compiled_bench.py --quick         # bench.py --quick both ways (CI)
    python benchmarks/compiled_bench.py --tree DIR      # a tree already compiled

``SAMVERKAN_COMPILE=1`` (``setup.py``) compiles the modules listed under
``[tool.samverkan-rules] compiled`` in ``pyproject.toml`` with mypyc. This script lays out a
copy of the working tree in a temporary directory and compiles them there in place (or takes
``--tree``, or the directory in ``SAMVERKAN_COMPILED_TREE``, as CI does with the tree it
tested), then runs ``bench.py --json`` twice, one after the other on the same machine: with
this tree's pure modules and with the compiled ones (``PYTHONPATH``; Python imports an
extension before a ``.py`` file of the same name). It prints each figure both ways and the
ratio compiled / pure (above 1 is faster for a rate, below 1 for a time), and each target's
verdict for the compiled figure. Exits 0 whatever the figures (a smoke run for CI).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench.py"


def compiled_tree(into: Path) -> Path:
    """A copy of the working tree (git's files) with the listed modules compiled in place."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            target = into / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    built = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=into,
        env={**os.environ, "SAMVERKAN_COMPILE": "1"},
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        raise SystemExit(f"the compiled build failed:\n{built.stdout}{built.stderr}")
    return into


def run_bench(tree: Path | None, quick: bool) -> dict[str, Any]:
    """``bench.py --json`` with the package from ``tree`` (None: this tree, pure)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    command = [sys.executable, str(BENCH), "--json", *(["--quick"] if quick else [])]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def _value(figure: dict[str, Any]) -> str:
    v = figure["value"]
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3f}"


def table(pure: dict[str, Any], compiled: dict[str, Any]) -> list[str]:
    """One line a figure: its name, pure, compiled, the ratio and the compiled verdict."""
    by_key = {(f["section"], f["name"]): f for f in compiled["figures"]}
    lines = [f"  {'figure':<52}{'pure':>14}{'compiled':>14}{'ratio':>8}   verdict (compiled)"]
    for f in pure["figures"]:
        c = by_key.get((f["section"], f["name"]))
        if c is None:
            continue
        ratio = c["value"] / f["value"] if f["value"] else float("nan")
        name = f"({f['section']}) {f['name']}"[:50]
        lines.append(
            f"  {name:<52}{_value(f):>14}{_value(c):>14}{ratio:>8.2f}   {c['verdict']} {c['unit']}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Build or take the compiled tree, run bench.py both ways, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="bench.py --quick both ways")
    parser.add_argument("--tree", type=Path, help="a tree with the modules already compiled")
    args = parser.parse_args(argv)
    given = args.tree or os.environ.get("SAMVERKAN_COMPILED_TREE")
    with tempfile.TemporaryDirectory(prefix="samverkan-compiled-") as tmp:
        tree = Path(given) if given else compiled_tree(Path(tmp))
        pure = run_bench(None, args.quick)
        compiled = run_bench(tree, args.quick)
        print(
            f"bench.py{' --quick' if args.quick else ''}, pure then compiled (mypyc), Python "
            f"{pure['python']} on {pure['machine']}; compiled tree {tree}"
        )
        for line in table(pure, compiled):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
