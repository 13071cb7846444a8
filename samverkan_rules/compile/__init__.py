"""Compiling a routine: validated models in, closures and frozen records out.

Everything here is pure: :func:`~samverkan_rules.compile.routine.compile_routine` takes the
models and the vocabulary and reads no file. Imports run downwards only: this package uses
``language`` (the models), ``events`` and ``time``, and is used by ``engine``, ``routine``
and ``text``.
"""
