"""``python -m llmos_jupyter`` is the ``llmos`` command."""

import sys

from llmos_jupyter._cli import main

sys.exit(main())
