"""Who did something: a person at the desk, an API key, or the service itself.

Every record of an act (a timeline entry, a message, an evidence upload, a proposal and its
decision, a claim) stores its actor as three columns, ``<prefix>_type``, ``<prefix>_id`` and
a name, and the API shows it as ``{"type", "id", "name"}``. The name is kept as it was at
the time: renaming a key or a person later does not rewrite history.

``id`` is None for the system, and for actors recorded before actors had ids whose key could
not be told for certain (migration 0010 explains the backfill).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from app.core.tenancy import Principal

ActorType = Literal["user", "api_key", "system"]
ACTOR_TYPES: tuple[ActorType, ...] = ("user", "api_key", "system")
SYSTEM_NAME = "system"


class Person(Protocol):
    """What ``Actor.user`` reads of a person (``app.people.models.User`` has it)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def display_name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Actor:
    type: ActorType
    id: uuid.UUID | None
    name: str

    @classmethod
    def api_key(cls, principal: Principal) -> Actor:
        return cls("api_key", principal.api_key_id, principal.key_name)

    @classmethod
    def user(cls, person: Person) -> Actor:
        return cls("user", person.id, person.display_name)

    @classmethod
    def system(cls) -> Actor:
        return cls("system", None, SYSTEM_NAME)

    @classmethod
    def stored(cls, type: str, id: uuid.UUID | None, name: str) -> Actor:
        """An actor read back from its columns."""
        if type not in ACTOR_TYPES:
            raise ValueError(f"unknown actor type {type!r}")
        return cls(type, id, name)

    def same_as(self, other: Actor) -> bool:
        """The same key or person (by id); actors without an id are never the same as another."""
        return self.type == other.type and self.id is not None and self.id == other.id

    def view(self) -> ActorRead:
        return ActorRead(type=self.type, id=self.id, name=self.name)

    def as_json(self) -> dict[str, str | None]:
        return {"type": self.type, "id": str(self.id) if self.id else None, "name": self.name}

    def described(self) -> str:
        """A person by name; a key or the service marked as such, so a reader tells them
        apart (the desk's timeline, the dispute pack)."""
        if self.type == "api_key":
            return f"{self.name} (API key)"
        if self.type == "system":
            return "the system (automatic)"
        return self.name

    def __str__(self) -> str:  # how a person reads it: in summaries, exports and pages
        return self.name


class ActorRead(BaseModel):
    """Who did it: a person (``user``), an API key (``api_key``) or the service (``system``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"type": "user", "id": "0b9f6f7e-3c43-4a55-9d0e-6c1d2f6b8a10", "name": "Anna Berg"}
            ]
        }
    )

    type: ActorType
    id: uuid.UUID | None = Field(description="The user's or key's id; null for the system.")
    name: str = Field(description="The display name or key name at the time it was recorded.")
