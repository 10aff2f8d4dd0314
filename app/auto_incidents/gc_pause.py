"""Python's cycle collector paused while a detection batch runs.

A batch opening 500 incidents allocates millions of objects and keeps tens of thousands alive
until it ends (parcels, incidents, their events): the collector's generations fill up again
and again, and each full collection walks every object of the process. It took a fifth of a
tick's CPU, for nothing: the batch's garbage has no cycles and goes by reference counting.

The collector is process-wide, and batches may run in several threads at once: it stays off
while any of them runs, and comes back as it was when the last one ends. It collects then as
usual, so cyclic garbage anything made meanwhile is reclaimed a batch later at most.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_running = 0
_was_enabled = False


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    global _running, _was_enabled
    with _lock:
        if _running == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _was_enabled:
                gc.enable()
