"""``python -m podinit_diag.cli``: the ``initdoctor`` command."""

import sys

from podinit_diag.cli import main

sys.exit(main())
