"""Collect the YAML routine scenarios under routines/tests/ as pytest items; fuzzing options."""

import os

import pytest

pytest_plugins = ["samverkan_rules.testing"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--fuzz-long``: run the fuzzers in tests/fuzz with many more examples."""
    parser.addoption(
        "--fuzz-long",
        action="store_true",
        default=False,
        help="run the fuzzers with 2,000 examples each (or SAMVERKAN_FUZZ_EXAMPLES)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--fuzz-long") and not os.environ.get("SAMVERKAN_FUZZ_EXAMPLES"):
        os.environ["SAMVERKAN_FUZZ_EXAMPLES"] = "2000"
