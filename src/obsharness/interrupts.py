"""SIGTERM (a CI runner's timeout, `timeout`, `kill`) unwinds like Ctrl-C: every `with`
block of the harness then tears its stack, sinks and temp dirs down, where the default
action would end the process on the spot and leave them behind."""

from __future__ import annotations

import signal
import threading


def terminate_like_ctrl_c(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def unwind_on_sigterm() -> None:
    """Where nobody handles SIGTERM yet, and in the main thread (signals go there)."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
        signal.signal(signal.SIGTERM, terminate_like_ctrl_c)
