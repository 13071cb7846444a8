"""Time as the routines count it: working days in Sweden (``calendar``) and instants with
their zones (``instants``). A leaf layer: it imports nothing of the package but errors and
diagnostics.
"""
