"""The tracker spreadsheet: export incidents as CSV or XLSX, import a seller's existing sheet.

Included before the incidents router, so ``/v1/incidents/export`` is never read as an id.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from app.api.deps import IncidentsWriteDep, NowDep, ReadDep, SettingsDep
from app.api.one_thread import OneThreadRoute
from app.core.actors import Actor
from app.core.errors import AppError, ValidationFailed
from app.core.schemas import UtcDatetime
from app.core.settings import DateOrder, Settings
from app.db.engine import Database
from app.incidents.schemas import IncidentListQuery, IncidentSource
from app.tracker_sheet import download, workbook
from app.tracker_sheet import exporter as tracker_export
from app.tracker_sheet.errors import FileRejected, FileTooLarge, ImportLimits
from app.tracker_sheet.importer import import_table
from app.tracker_sheet.reader import MAX_IMPORT_BYTES, read_table
from app.tracker_sheet.report import MAX_LISTED_ERRORS, ImportReport

router = APIRouter(prefix="/v1/incidents", tags=["tracker spreadsheet"], route_class=OneThreadRoute)


class ContentTooLarge(AppError):
    status, title, slug = 413, "Content Too Large", "file-too-large"


class ImportErrorRead(BaseModel):
    row: int | None
    column: str | None
    reason: str


class ImportReportRead(BaseModel):
    dry_run: bool
    file_type: str
    date_order: DateOrder = Field(
        description="How dates such as 03/04/2026 were read: dmy (3 April), mdy (4 March) or "
        "iso (refused); ISO dates and XLSX date cells need no order."
    )
    rows: int = Field(description="Data rows read (empty rows are skipped).")
    valid: int = Field(description="Dry run: rows that would be imported.")
    imported: int = Field(description="Rows imported by this run (0 in a dry run).")
    already_imported: int = Field(
        description="Rows whose order and tracking number already have an incident here: "
        "left alone, so the same file can be imported again."
    )
    failed: int = Field(description="Rows not imported; each has at least one error.")
    batches: int = Field(description="Batches of valid rows (each committed on its own).")
    failed_batches: int = Field(description="Batches that could not be saved (rolled back).")
    ignored_columns: list[str]
    errors: list[ImportErrorRead] = Field(
        description=f"Row errors in row order, at most {MAX_LISTED_ERRORS:,}."
    )
    errors_not_listed: int = Field(description="Row errors past the listed ones.")


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, workbook.XLSX_MEDIA_TYPE: {}}}},
)
async def export_incidents(
    request: Request,
    principal: ReadDep,
    now: NowDep,
    match: Annotated[IncidentListQuery, Query()],
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    source: Annotated[IncidentSource | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
    opened_after: Annotated[UtcDatetime | None, Query()] = None,
    opened_before: Annotated[UtcDatetime | None, Query()] = None,
) -> StreamingResponse:
    """The tracker, one row per incident, with the list's filters; streamed page by page."""
    filters = match.filters(
        source=source,
        overdue=overdue,
        opened_after=opened_after,
        opened_before=opened_before,
    )
    db: Database = request.app.state.db
    # the query runs before the answer starts: a query that fails (a filter the database
    # cannot take) is an error answer, not a file cut off after its header
    body: Iterator[bytes]
    if format == "xlsx":
        pages = download.sheet_pages(db, tenant_id=principal.tenant_id, filters=filters, now=now)
        first = await anyio.to_thread.run_sync(lambda: next(pages, None))
        pages = itertools.chain([first] if first is not None else [], pages)
        body = workbook.xlsx_chunks(pages, exported_at=now)
        media_type = workbook.XLSX_MEDIA_TYPE
    else:
        chunks = download.csv_chunks(db, tenant_id=principal.tenant_id, filters=filters, now=now)
        header = await anyio.to_thread.run_sync(lambda: next(chunks))
        body = itertools.chain([header], chunks)
        media_type = tracker_export.CSV_MEDIA_TYPE
    name = tracker_export.export_filename(format, now)
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _upload(request: Request) -> bytes:
    """The file: the raw body, or the ``file`` part of a multipart form (curl -F)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_IMPORT_BYTES + 64 * 1024:
        raise ContentTooLarge("the file is larger than 20 MB; split it into several imports")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise ValidationFailed("file", "send the spreadsheet as the form field 'file'")
        content = await part.read(MAX_IMPORT_BYTES + 1)
    else:
        content = await request.body()
    if len(content) > MAX_IMPORT_BYTES:
        raise ContentTooLarge("the file is larger than 20 MB; split it into several imports")
    return content


def _run_import(
    db: Database, content: bytes, *, tenant_id: uuid.UUID, actor: Actor, dry_run: bool,
    now: datetime, settings: Settings, date_order: DateOrder,
) -> ImportReport:  # fmt: skip
    """The file read (its caps checked before any row), then imported batch by batch."""
    limits = ImportLimits(
        max_rows=settings.import_max_rows,
        max_unpacked_bytes=settings.import_max_unpacked_bytes,
        max_shared_strings_bytes=settings.import_max_shared_strings_bytes,
    )
    return import_table(
        db,
        tenant_id=tenant_id,
        table=read_table(content, limits),
        dry_run=dry_run,
        actor=actor,
        now=now,
        default_next_step_hours=settings.default_next_step_hours,
        date_order=date_order,
        batch_rows=settings.import_batch_rows,
    )


@router.post("/import", response_model=ImportReportRead)
async def import_incidents(
    request: Request,
    principal: IncidentsWriteDep,
    settings: SettingsDep,
    now: NowDep,
    dry_run: Annotated[bool, Query(description="Check only (the default); false imports.")] = True,
    date_order: Annotated[
        DateOrder | None,
        Query(
            description="How to read dates such as 03/04/2026: dmy, mdy, or iso (refuse them); "
            "default RT_IMPORT_DATE_ORDER. ISO dates and XLSX date cells are always read."
        ),
    ] = None,
) -> ImportReportRead:
    """Import a tracker sheet (CSV or XLSX with the export's headers): a dry run by default,
    reporting each row's problems by row number and column; ``dry_run=false`` imports the
    valid rows in batches that each commit, skipping (order id, tracking number) already
    here, so a file can be imported again after a failed batch."""
    content = await _upload(request)
    order = date_order or settings.import_date_order
    try:
        report = await anyio.to_thread.run_sync(
            lambda: _run_import(
                request.app.state.db,
                content,
                tenant_id=principal.tenant_id,
                actor=Actor.api_key(principal),
                dry_run=dry_run,
                now=now,
                settings=settings,
                date_order=order,
            )
        )
    except FileTooLarge as too_large:
        reason = too_large.errors[0].reason
        raise ContentTooLarge(
            reason,
            setting=too_large.setting,
            limit=too_large.limit,
            errors=[{"field": "file", "message": reason}],
        ) from None
    except FileRejected as rejected:
        raise ValidationFailed(
            "file",
            rejected.errors[0].reason,
            errors=[
                {"field": "file", "row": e.row, "column": e.column, "message": e.reason}
                for e in rejected.errors
            ],
        ) from None
    return ImportReportRead(
        dry_run=report.dry_run,
        file_type=report.file_type,
        date_order=report.date_order,
        rows=report.rows,
        valid=report.valid,
        imported=report.imported,
        already_imported=report.already_imported,
        failed=report.failed,
        batches=report.batches,
        failed_batches=report.failed_batches,
        ignored_columns=report.ignored_columns,
        errors=[
            ImportErrorRead(row=e.row, column=e.column, reason=e.reason) for e in report.errors
        ],
        errors_not_listed=report.errors_not_listed,
    )
