"""Who is calling: the bearer key looked up in the database, and remembered for a few seconds.

Every ``/v1`` request presents a key. Looking it up costs a transaction and a worker thread, as
much as a cheap read itself, so a key found active is remembered in this process for
``RT_API_KEY_CACHE_SECONDS`` (5 s). That is the bound on revocation: a key revoked with
``python -m app keys revoke`` (another process) is refused by every process at most that many
seconds later; a scope change takes effect within the same bound. ``0`` looks every request up.

Only keys found active are remembered: an unknown or revoked key is looked up every time (the
failed-authentication throttle in ``app.api.gate`` bounds that), so nobody can fill the memory
with keys that do not exist, and a key is never remembered by its secret, only by its SHA-256.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

import anyio

from app.core.tenancy import Principal, authenticate, hash_key
from app.db.engine import Database

# More live keys than any tenant base has; past it the least recently used is forgotten
MAX_REMEMBERED = 10_000


class Authenticator:
    """Finds the caller of a key: from memory while it is fresh, else from the database."""

    def __init__(
        self,
        database: Database,
        *,
        remember_seconds: float,
        clock: Callable[[], datetime],
        max_remembered: int = MAX_REMEMBERED,
    ) -> None:
        self.db = database
        self.remember_for = timedelta(seconds=remember_seconds)
        self.clock = clock
        self.max_remembered = max_remembered
        self._remembered: OrderedDict[str, tuple[datetime, Principal]] = OrderedDict()
        self._lock = threading.Lock()  # the loop reads while worker threads remember

    async def principal(self, secret: str) -> Principal | None:
        """The caller, or None for an unknown or revoked key; a thread hop only on a miss.

        Raises what the database raises (``OperationalError`` when it is down) on a miss.
        """
        key_hash = hash_key(secret)
        known = self.remembered(key_hash)
        if known is not None:
            return known
        return await anyio.to_thread.run_sync(self.look_up, secret)

    def remembered(self, key_hash: str) -> Principal | None:
        """The caller of a key found active less than the bound ago (no I/O)."""
        now = self.clock()
        with self._lock:
            entry = self._remembered.get(key_hash)
            if entry is None:
                return None
            until, principal = entry
            if now >= until:
                del self._remembered[key_hash]
                return None
            self._remembered.move_to_end(key_hash)
            return principal

    def look_up(self, secret: str) -> Principal | None:
        """Ask the database (blocking: run it in a worker thread) and remember an active key."""
        asked_at = self.clock()  # before the read: the bound counts from what it could see
        with self.db.session() as session:
            principal = authenticate(session, secret)
        if principal is not None and self.remember_for > timedelta(0):
            self._remember(principal, until=asked_at + self.remember_for)
        return principal

    def _remember(self, principal: Principal, *, until: datetime) -> None:
        with self._lock:
            self._remembered[principal.key_hash] = (until, principal)
            self._remembered.move_to_end(principal.key_hash)
            while len(self._remembered) > self.max_remembered:
                self._remembered.popitem(last=False)
