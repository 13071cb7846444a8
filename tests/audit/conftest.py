"""Fixtures of the audit tests; the helpers they are built from are in support.py.

The root conftest leaves this directory out when the ``audit`` extra is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audit.support import Generated, generate


@pytest.fixture
def generated(tmp_path: Path) -> Generated:
    """A small generated history."""
    return generate(tmp_path / "in")
