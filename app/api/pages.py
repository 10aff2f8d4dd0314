"""Page size and page token handling shared by every list endpoint."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query

from app.core.pagination import decode_token, encode_token
from app.core.settings import Settings

PageSizeQuery = Annotated[
    int | None, Query(ge=1, description="Items per page; capped by RT_PAGE_SIZE_MAX.")
]
PageTokenQuery = Annotated[
    str | None, Query(max_length=512, description="next_page_token of the previous page.")
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
