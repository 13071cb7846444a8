"""``python -m samverkan_rules`` runs the command line."""

import sys

from samverkan_rules.cli import main

sys.exit(main())
