"""structlog set-up: readable lines in a terminal, JSON lines in production.

Every process calls ``configure_logging`` once at start (``python -m app`` for serve and the
operator commands, ``python -m app.scheduler``). Our structlog loggers and the standard
library's (uvicorn, alembic, httpx, ...) then go through one handler on the root logger, at
``RT_LOG_LEVEL``, rendered as ``RT_LOG_FORMAT``. ``serve`` runs uvicorn with
``log_config=None`` so that its startup and access lines reach that handler too.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


def _foreign_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A standard-library record's message is its event. Drop uvicorn's ``color_message`` (the
    event again, with terminal escapes) and the record's arguments (``pass_foreign_args``)."""
    event_dict.pop("color_message", None)
    event_dict.pop("positional_args", None)
    return event_dict


def _access_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """uvicorn's access line also as fields (``method``, ``path``, ``status`` ...), for JSON."""
    record = event_dict.get("_record")
    args = event_dict.get("positional_args")
    if (
        isinstance(record, logging.LogRecord)
        and record.name == "uvicorn.access"
        and isinstance(args, tuple)
        and len(args) == len(_ACCESS_FIELDS)
    ):
        event_dict.update(zip(_ACCESS_FIELDS, args, strict=True))
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    extract: list[structlog.types.Processor] = [_access_fields] if fmt == "json" else []
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # below RT_LOG_LEVEL: no event dict is even built
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, *extract, _foreign_fields],
            pass_foreign_args=True,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # APScheduler logs every run of every job at INFO (two lines a second for the webhook
    # dispatcher); our own "job tick" line says what a tick did, so only its warnings show
    logging.getLogger("apscheduler").setLevel(max(root.level, logging.WARNING))
