import logging
import os
import sys

from snoop_tui.cli import main
from snoop_tui.terminal_guard import is_panel_process

code = main()
if is_panel_process():
    # The panel process ends here, whatever its threads: Textual's input thread can
    # outlive a terminal that was closed (SIGHUP) and keep the process alive.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
