"""`python -m cockpit.own RUN_DIR -- COMMAND...` (see cockpit.own.wrapper)."""

import sys

from cockpit.own.wrapper import main

sys.exit(main())
