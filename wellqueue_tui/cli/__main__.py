"""`python -m wellqueue_tui.cli`: the `wellqueue` command."""

import sys

from . import main

sys.exit(main())
