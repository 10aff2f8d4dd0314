"""The settings an outbox subscriber works with, found from the session it is handed.

A subscriber gets ``(session, event)`` and nothing else, yet a notice rule needs the settings
(is sending on, the Message-ID domain, "update you by" days). ``app.startup.wire`` binds the
process's settings to its database; a session finds them through its database
(``session.info["database"]``). A database nobody bound (a script, a test calling services
directly) gets the settings from the environment, as the processes read them.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from sqlmodel import Session

from app.core.settings import Settings, get_settings
from app.db.engine import Database

_bound: WeakKeyDictionary[Database, Settings] = WeakKeyDictionary()


def bind(database: Database, settings: Settings) -> None:
    _bound[database] = settings


def settings_for(session: Session) -> Settings:
    database = session.info.get("database")
    if isinstance(database, Database) and database in _bound:
        return _bound[database]
    return get_settings()
