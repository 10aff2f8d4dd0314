"""The cycle collector is off while any detection batch runs, and back as it was after the last."""

from __future__ import annotations

import gc
import threading

from app.auto_incidents.gc_pause import cycle_collector_paused


def test_overlapping_batches_keep_it_off_until_the_last_one_ends() -> None:
    assert gc.isenabled()
    first_inside, second_done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def second_batch() -> None:
        first_inside.wait()
        with cycle_collector_paused():
            seen.append(gc.isenabled())
        second_done.set()

    other = threading.Thread(target=second_batch)
    other.start()
    with cycle_collector_paused():
        first_inside.set()
        second_done.wait()  # the second batch ended while this one still runs
        seen.append(gc.isenabled())
    other.join()

    assert seen == [False, False]
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        with cycle_collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_in_the_batch_still_brings_it_back() -> None:
    try:
        with cycle_collector_paused():
            raise RuntimeError("the batch failed")
    except RuntimeError:
        pass
    assert gc.isenabled()
