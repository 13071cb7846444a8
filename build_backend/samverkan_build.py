"""The package's build backend: setuptools', which also asks for mypy when the engine is compiled.

``SAMVERKAN_COMPILE=1 pip install .`` builds the modules listed under
``[tool.samverkan-rules] compiled`` in ``pyproject.toml`` with mypyc (``setup.py``). mypyc
comes with mypy, and it type-checks what it compiles, imports included, so a build in an
isolated environment needs mypy and the package's own dependencies (their types decide the
compiled code); they are asked for then, and only then. Every other hook is setuptools' own.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (  # noqa: F401  (the hooks a frontend calls)
    build_editable,
    build_sdist,
    build_wheel,
    get_requires_for_build_sdist,
)

MYPY = "mypy==2.4.1"
"""The mypy (and so mypyc) that compiles the engine: the one the project type-checks with."""


def _compiler() -> list[str]:
    if os.environ.get("SAMVERKAN_COMPILE") != "1":
        return []
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return [MYPY, "types-PyYAML", *project["dependencies"]]


@contextlib.contextmanager
def _plain() -> Iterator[None]:
    # setuptools answers by running setup.py, which must not reach for mypyc before the
    # frontend has installed it (its own requirements are those of the plain build), nor
    # compile anything to write the metadata.
    asked = os.environ.pop("SAMVERKAN_COMPILE", None)
    try:
        yield
    finally:
        if asked is not None:
            os.environ["SAMVERKAN_COMPILE"] = asked


def get_requires_for_build_wheel(config_settings: dict[str, object] | None = None) -> list[str]:
    """setuptools' requirements, and mypy when ``SAMVERKAN_COMPILE=1``."""
    compiler = _compiler()
    with _plain():
        return [*_setuptools.get_requires_for_build_wheel(config_settings), *compiler]


def get_requires_for_build_editable(
    config_settings: dict[str, object] | None = None,
) -> list[str]:
    """setuptools' requirements, and mypy when ``SAMVERKAN_COMPILE=1``."""
    compiler = _compiler()
    with _plain():
        return [*_setuptools.get_requires_for_build_editable(config_settings), *compiler]


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: dict[str, object] | None = None
) -> str:
    """setuptools' metadata, which is the same compiled or not: written without compiling."""
    with _plain():
        return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def prepare_metadata_for_build_editable(
    metadata_directory: str, config_settings: dict[str, object] | None = None
) -> str:
    """setuptools' metadata, which is the same compiled or not: written without compiling."""
    with _plain():
        return _setuptools.prepare_metadata_for_build_editable(metadata_directory, config_settings)
