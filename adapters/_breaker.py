"""The circuit breaker every carrier's HTTP client keeps (``adapters._http``).

After ``threshold`` whole-call failures in a row the carrier is not called for ``reset``
seconds, then one trial call closes or reopens it. Failures while the poller bisects a failed
batch to its bad number do not count (``adapters.base.isolating_a_number``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from adapters.base import ISOLATING_A_NUMBER

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Closed -> open after N failures in a row -> half open after ``reset`` -> a trial."""

    def __init__(self, threshold: int, reset: float, clock: Callable[[], float]) -> None:
        self.threshold, self.reset, self.clock = threshold, reset, clock
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_running = False

    @property
    def state(self) -> BreakerState:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.reset else "open"

    def allow(self) -> bool:
        """Closed: yes. Open: no. Half open: only the one trial call, until it is judged."""
        state = self.state
        if state == "closed":
            return True
        if state == "open" or self.trial_running:
            return False
        self.trial_running = True
        return True

    def succeeded(self) -> None:
        self.failures, self.opened_at, self.trial_running = 0, None, False

    def failed(self) -> None:
        if ISOLATING_A_NUMBER.get() and self.state == "closed":
            return  # a bisection's expected failure (see ``isolating_a_number``)
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.threshold:
            self.opened_at = self.clock()
        self.trial_running = False
