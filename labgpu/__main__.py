"""``python -m labgpu``."""

import sys

from labgpu.cli.main import main

sys.exit(main())
