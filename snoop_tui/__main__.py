import sys

from snoop_tui.cli import main

sys.exit(main())
