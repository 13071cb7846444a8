"""Events: what happened in a case, read from JSON Lines or CSV, checked and limited.

``model`` is the event record and its checks, ``limits`` the size limits of untrusted input,
``read`` the file formats, ``index`` a file indexed by case so a large history is read one
case at a time. Imports run downwards: this package uses ``time`` and the leaves only.
"""
