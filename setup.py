"""Extension modules for ``SAMVERKAN_COMPILE=1``: the engine's hot modules compiled with mypyc.

Everything else about the package is in ``pyproject.toml``. Without the variable (the
default) nothing is compiled and the package is pure Python. With it, the modules named
under ``[tool.samverkan-rules] compiled`` are built as C extensions by mypyc from the same
typed source; Python imports an extension before a ``.py`` file of the same name, so the
source stays beside them and the behaviour is the same (CI runs the whole suite both ways).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def _compiled_modules() -> list[str]:
    config = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))
    return [
        str(Path(*name.split("."))) + ".py"
        for name in config["tool"]["samverkan-rules"]["compiled"]
    ]


if os.environ.get("SAMVERKAN_COMPILE") == "1":
    try:
        from mypyc.build import mypycify
    except ImportError as exc:  # pragma: no cover - a build environment without mypy
        raise SystemExit(
            "SAMVERKAN_COMPILE=1 needs mypy (mypyc) in the build environment: "
            "pip installs it through the build backend; with --no-build-isolation, "
            "pip install mypy first"
        ) from exc
    config = ["--config-file", str(HERE / "build_backend" / "mypyc.ini")]
    setup(ext_modules=mypycify([*config, *_compiled_modules()], opt_level="3"))
else:
    setup()
