"""The message template library and a tenant's own wording of it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from sqlmodel import Session

from app.api.deps import IncidentsWriteDep, NowDep, ReadDep, SessionDep
from app.api.one_thread import OneThreadRoute
from app.core.schemas import Page
from app.workflow.templates import library
from app.workflow.templates.catalogue import CATALOGUE, TemplateSpec, spec_for
from app.workflow.templates.models import MessageTemplateOverride
from app.workflow.templates.schemas import (
    TemplateOverrideUpdate,
    TemplateParamRead,
    TemplateRead,
    TemplateSummaryRead,
    TemplateTextRead,
)

router = APIRouter(prefix="/v1/templates", tags=["templates"], route_class=OneThreadRoute)
LanguagePath = Annotated[
    str, Path(min_length=2, max_length=8, description="ISO 639-1 code", examples=["de"])
]


def _summary(spec: TemplateSpec, overrides: list[MessageTemplateOverride]) -> TemplateSummaryRead:
    return TemplateSummaryRead(
        key=spec.key,
        description=spec.description,
        languages=library.library_languages(spec.key),
        overridden_languages=[o.language for o in overrides if o.key == spec.key],
        params=[
            TemplateParamRead(
                name=p.name,
                kind=p.kind,
                required=p.required,
                choices=list(p.choices) or None,
                description=p.description,
            )
            for p in spec.params
        ],
    )


def _detail(session: Session, tenant_id: uuid.UUID, key: str) -> TemplateRead:
    spec = spec_for(key)
    overrides = library.overrides_of(session, tenant_id=tenant_id, key=key)
    ours = [library.library_text(key, lang) for lang in library.library_languages(key)]
    library_texts = [
        TemplateTextRead(language=t.language, source="library", subject=t.subject, body=t.body)
        for t in ours
        if t is not None
    ]
    tenant_texts = {
        o.language: TemplateTextRead(
            language=o.language,
            source="tenant",
            subject=o.subject,
            body=o.body,
            updated_at=o.updated_at,
            updated_by=o.updated_by,
        )
        for o in overrides
    }
    in_use = {t.language: t for t in library_texts} | tenant_texts
    return TemplateRead(
        **_summary(spec, overrides).model_dump(),
        texts=[in_use[lang] for lang in sorted(in_use)],
        library_texts=library_texts,
    )


@router.get("", response_model=Page[TemplateSummaryRead])
def list_templates(principal: ReadDep, session: SessionDep) -> Page[TemplateSummaryRead]:
    """Every situation we have a template for (the catalogue is small: one page)."""
    overrides = library.overrides_of(session, tenant_id=principal.tenant_id)
    return Page[TemplateSummaryRead](
        items=[_summary(spec, overrides) for spec in CATALOGUE.values()],
        next_page_token=None,
    )


@router.get("/{key}", response_model=TemplateRead)
def get_template(key: str, principal: ReadDep, session: SessionDep) -> TemplateRead:
    """The template's parameters and texts: ours, and this tenant's where it rewrote them."""
    return _detail(session, principal.tenant_id, key)


@router.put("/{key}/{language}", response_model=TemplateRead)
def put_override(
    key: str,
    language: LanguagePath,
    body: TemplateOverrideUpdate,
    principal: IncidentsWriteDep,
    session: SessionDep,
    now: NowDep,
    response: Response,
) -> TemplateRead:
    """Use this wording for the tenant; refused (422, with the line) unless it renders."""
    _, created = library.save_override(
        session,
        tenant_id=principal.tenant_id,
        key=key,
        language=language,
        subject=body.subject,
        body=body.body,
        actor=principal.key_name,
        now=now,
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return _detail(session, principal.tenant_id, key)


@router.delete("/{key}/{language}", status_code=status.HTTP_204_NO_CONTENT)
def delete_override(
    key: str, language: LanguagePath, principal: IncidentsWriteDep, session: SessionDep
) -> Response:
    """Go back to our text for this language."""
    library.delete_override(session, tenant_id=principal.tenant_id, key=key, language=language)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
