"""Python processes the package starts of its own (the audit's workers, the service's judging
process): each runs the very package its parent runs.

``python -m`` puts the working directory first on ``sys.path``, so a child started that way in
a directory that holds another copy of the package (a checkout, an unpacked release) would
import that copy: another version, or the pure build beside a compiled parent, and its answers
need not be the parent's. A child is started with ``-P`` (the working directory left out of
``sys.path``) and, unless the interpreter finds the parent's package first anyway, with the
directory that holds it first on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import site
import sys
from collections.abc import Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
"""The package this process runs."""


def command(module: str, *args: str) -> list[str]:
    """The command line that runs ``module`` of this package in a new interpreter (the same
    executable), the working directory left out of its ``sys.path``.

    Examples:
        >>> command("samverkan_rules.audit.worker")[1:]
        ['-P', '-m', 'samverkan_rules.audit.worker']
    """
    return [sys.executable, "-P", "-m", module, *args]


def environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child started with :func:`command`: ``base`` (default this
    process's), with the directory holding this package put first on ``PYTHONPATH`` unless
    the child would find this package first without it.

    Examples:
        >>> here = os.pathsep.join([str(PACKAGE.parent), "/elsewhere"])
        >>> environment({"PYTHONPATH": here})["PYTHONPATH"] == here
        True
    """
    env = dict(os.environ if base is None else base)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _first_found([*paths, *_site_dirs()]) != PACKAGE:
        env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE.parent), *paths])
    return env


def _site_dirs() -> list[str]:
    """Where the interpreter looks for installed packages (after ``PYTHONPATH``)."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return dirs


def _first_found(entries: list[str]) -> Path | None:
    """The first copy of this package's directory in ``entries``, as ``import`` takes them
    (a finder installed by a ``.pth`` file, as editable installs have, is not seen: the
    caller then names the package's directory itself)."""
    for entry in entries:
        candidate = Path(entry) / PACKAGE.name
        if (candidate / "__init__.py").is_file():
            return candidate.resolve()
    return None
