"""Loading routines: files checked in layers, compiled, and gathered into a registry of
versions.

This package reads files (``language``) and compiles them (``compile``); the engine never
imports it, it takes compiled routines.
"""
