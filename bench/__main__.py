"""Entry point: `python -m bench run|short|soak` on the host, `load|pageload` inside the netns."""

import sys

from bench.main import main

sys.exit(main(sys.argv[1:]))
