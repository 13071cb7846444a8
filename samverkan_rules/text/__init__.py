"""What people read: evaluations as staff text (``due``), and routines rendered for review
(``words``, ``document``, ``markdown``, ``html``).

This package sits above ``engine`` and ``compile``; neither imports it.
"""
