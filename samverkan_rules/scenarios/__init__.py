"""Scenario tests of routines: YAML files of events, an instant and the expected actions,
written by policy authors and run by ``samverkan test`` and by pytest.

``spec`` is the file format, ``load`` reads it, ``check`` runs one scenario and compares,
``runner`` walks a directory, ``plugin`` collects scenarios as pytest items.
"""
