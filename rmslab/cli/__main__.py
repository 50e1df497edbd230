"""``python -m rmslab.cli``."""

import sys

from rmslab.cli import main

sys.exit(main())
