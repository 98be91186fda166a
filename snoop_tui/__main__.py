import sys

from snoop_tui.cli import main

# The panel's process never comes back here: the guard forks it, and it ends inside
# `terminal_guard` with `os._exit` whatever its threads.
sys.exit(main())
