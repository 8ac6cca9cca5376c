"""``python -m streamtest._cli``: the same as the ``streamtest`` command."""

import sys

from . import main

sys.exit(main())
