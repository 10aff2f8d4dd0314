"""A server process ends its start-up by settling: what start-up made is out of the cycle
collector's reach, the garbage of that moment is not kept, and what comes later is collected
as usual. The API settles at the end of its lifespan's start-up, once per process."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import startup
from app.startup import settle


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cycle collector frees it


@pytest.fixture
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test process goes on collecting as before


@pytest.mark.usefixtures("thawed")
def test_settling_freezes_what_lives_collects_what_died_and_still_collects_what_comes_later() -> (
    None
):
    dead = Node()
    dead_ref = weakref.ref(dead)
    del dead
    living = Node()

    settle()

    assert dead_ref() is None  # collected before the freeze, not frozen forever
    assert gc.get_freeze_count() > 0
    assert not any(obj is living for obj in gc.get_objects())  # frozen: no longer scanned
    later = Node()
    later_ref = weakref.ref(later)
    del later
    gc.collect()
    assert later_ref() is None


@pytest.mark.usefixtures("thawed")
def test_the_first_app_to_start_settles_the_process_and_later_ones_leave_it_be(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(startup, "_settled", False)  # as in a fresh server process
    gc.unfreeze()
    before_start = Node()

    with TestClient(app):  # the lifespan's start-up: uvicorn's, whichever way it was started
        assert gc.get_freeze_count() > 0
        assert not any(obj is before_start for obj in gc.get_objects())
        after_start = Node()
        with TestClient(app):  # a second start in one process (tests): no second freeze
            assert any(obj is after_start for obj in gc.get_objects())
