"""Collect the YAML routine scenarios under routines/tests/ as pytest items."""

pytest_plugins = ["samverkan_rules.testing"]
