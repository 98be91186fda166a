"""Ties a child process's life to its parent's, so nothing outlives the panel.

`die_with_parent` asks Linux for a parent-death signal (`prctl(PR_SET_PDEATHSIG)`):
when the parent goes away for any reason, SIGKILL included, the child gets SIGTERM
and can leave its room cleanly. Children also watch their command pipe, whose end
is the same news by another road (and the only one on systems without prctl).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
from collections.abc import Callable

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def die_with_parent(expected_parent: int, sig: int = signal.SIGTERM) -> bool:
    """Ask for `sig` when the parent dies; False if the parent is already gone.

    The parent may die between our start and the prctl call, in which case no
    signal will ever come: checking the parent's pid afterwards closes that gap."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # this process's own symbols: libc's among them
        if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    except (OSError, AttributeError):  # not Linux: the command pipe still tells us
        log.info("no parent-death signal on this system; relying on the command pipe")
    return os.getppid() == expected_parent


def die_with_starter(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` by which the child gets `sig` when this process dies, SIGKILL included.

    prctl(PR_SET_PDEATHSIG) runs in the child between fork and exec and survives the
    exec, so it works for any program (livekit-server is a Go binary). Linux counts the
    *thread* that started the child as its parent: start children from a thread that
    lives as long as they should. A child whose starter died before the request took
    effect exits at once. Elsewhere than Linux this does nothing."""
    starter = os.getpid()
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not after fork
    except (OSError, AttributeError):
        return lambda: None

    def request() -> None:  # in the child: no allocation-heavy work, no locks
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != starter:
            os._exit(1)

    return request
