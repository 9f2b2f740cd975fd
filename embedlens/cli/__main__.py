"""``python -m embedlens.cli``: the ``embedlens`` command."""

import sys

from embedlens.cli import main

sys.exit(main())
