"""Page size and page token handling shared by every list endpoint."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query

from app.core.pagination import decode_token, encode_token
from app.core.schemas import Page
from app.core.settings import Settings

PageSizeQuery = Annotated[
    int | None, Query(ge=1, description="Items per page; capped by RT_PAGE_SIZE_MAX.")
]
# the tokens are unpadded URL-safe base64 (app.core.pagination): anything else is refused
# before decoding, since base64 decoding would otherwise skip the characters it does not know
URL_SAFE_BASE64 = r"^[A-Za-z0-9_-]+$"
PageTokenQuery = Annotated[
    str | None,
    Query(
        max_length=512,
        pattern=URL_SAFE_BASE64,
        description="next_page_token of the previous page (URL-safe base64, unpadded).",
    ),
]


def page_window(settings: Settings, page_size: int | None) -> int:
    return min(page_size or settings.page_size_default, settings.page_size_max)


def page_start(
    settings: Settings, token: str | None, filters: dict[str, Any]
) -> tuple[datetime, uuid.UUID] | None:
    if not token:
        return None
    return decode_token(settings.resolved_secret_key(), token, filters=filters)


def next_token(
    settings: Settings, filters: dict[str, Any], last: tuple[datetime, uuid.UUID] | None
) -> str | None:
    if last is None:
        return None
    return encode_token(settings.resolved_secret_key(), position=last, filters=filters)


Row = TypeVar("Row")
Item = TypeVar("Item")
Position = tuple[datetime, uuid.UUID]


def keyset_page(
    settings: Settings,
    *,
    filters: dict[str, Any],
    page_size: int | None,
    page_token: str | None,
    fetch: Callable[[Position | None, int], Sequence[Row]],
    position: Callable[[Row], Position],
    view: Callable[[Row], Item],
) -> Page[Item]:
    """One page of a keyset-paged list: ``fetch(after, limit)`` reads one row more than fits,
    which says whether a next page exists; its token is bound to ``filters``."""
    size = page_window(settings, page_size)
    rows = fetch(page_start(settings, page_token, filters), size + 1)
    last = position(rows[size - 1]) if len(rows) > size else None
    return Page[Item](
        items=[view(row) for row in rows[:size]],
        next_page_token=next_token(settings, filters, last),
    )
