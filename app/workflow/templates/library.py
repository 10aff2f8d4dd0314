"""Which text a message uses: the tenant's override or ours, in the customer's language.

Order of preference for a customer writing in ``pt-BR``: the tenant's ``pt`` override, our
``pt`` text, the tenant's ``en`` override, our ``en`` text. A tenant's override is saved only
if it renders against a realistic sample incident (``samples.py``), in text and in HTML.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources

import pycountry
from sqlmodel import Session, col, select

from app.core.errors import NotFound, ValidationFailed
from app.workflow.templates import renderer, samples
from app.workflow.templates.catalogue import FALLBACK_LANGUAGE, LANGUAGES, sample_params, spec_for
from app.workflow.templates.context import babel_locale, build_context
from app.workflow.templates.models import MessageTemplateOverride


@dataclass(frozen=True, slots=True)
class TemplateText:
    key: str
    language: str
    subject: str
    body: str
    source: str  # "library" or "tenant"


@lru_cache(maxsize=128)
def library_text(key: str, language: str) -> TemplateText | None:
    """Our text: first line the subject, then a blank line, then the body."""
    folder = resources.files("app.workflow.templates").joinpath("library").joinpath(language)
    path = folder.joinpath(f"{key}.j2")
    if not path.is_file():
        return None
    subject, _, body = path.read_text(encoding="utf-8").partition("\n\n")
    return TemplateText(key, language, subject.strip(), body, "library")


def library_languages(key: str) -> list[str]:
    return [language for language in LANGUAGES if library_text(key, language) is not None]


def overrides_of(
    session: Session, *, tenant_id: uuid.UUID, key: str | None = None
) -> list[MessageTemplateOverride]:
    query = select(MessageTemplateOverride).where(MessageTemplateOverride.tenant_id == tenant_id)
    if key is not None:
        query = query.where(MessageTemplateOverride.key == key)
    return list(
        session.exec(
            query.order_by(col(MessageTemplateOverride.key), col(MessageTemplateOverride.language))
        )
    )


def _override(
    session: Session, tenant_id: uuid.UUID, key: str, language: str
) -> MessageTemplateOverride | None:
    return session.exec(
        select(MessageTemplateOverride).where(
            MessageTemplateOverride.tenant_id == tenant_id,
            MessageTemplateOverride.key == key,
            MessageTemplateOverride.language == language,
        )
    ).first()


def resolve_text(
    session: Session, *, tenant_id: uuid.UUID, key: str, language: str
) -> TemplateText:
    spec_for(key)
    for wanted in dict.fromkeys((language, FALLBACK_LANGUAGE)):
        override = _override(session, tenant_id, key, wanted)
        if override is not None:
            return TemplateText(key, wanted, override.subject, override.body, "tenant")
        text = library_text(key, wanted)
        if text is not None:
            return text
    raise NotFound(f"template {key!r} has no text")  # pragma: no cover - en always exists


def check_language(language: str) -> str:
    code = language.lower()
    if len(code) != 2 or pycountry.languages.get(alpha_2=code) is None:
        raise ValidationFailed("language", f"{language!r} is not an ISO 639-1 language code")
    return code


def validate_text(key: str, language: str, subject: str, body: str) -> None:
    """Render against the sample incident; a failure names the field and the template line."""
    spec = spec_for(key)
    facts = samples.sample_facts()
    context = build_context(facts, spec, sample_params(spec), babel_locale(None, language))
    try:
        renderer.render(subject, body, context)
    except renderer.TemplateRefused as exc:
        field = "subject" if isinstance(exc, renderer.SubjectRefused) else "body"
        where = f"line {exc.line}: " if exc.line else ""
        raise ValidationFailed(
            field,
            f"{where}{exc.message} (rendering against a sample incident)",
            errors=[{"field": field, "message": exc.message, "line": exc.line}],
            line=exc.line,
        ) from None


def save_override(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    key: str,
    language: str,
    subject: str,
    body: str,
    actor: str,
    now: datetime,
) -> tuple[MessageTemplateOverride, bool]:
    """Create or replace the tenant's text; True when it is new."""
    language = check_language(language)
    validate_text(key, language, subject, body)
    override = _override(session, tenant_id, key, language)
    created = override is None
    if override is None:
        override = MessageTemplateOverride(
            tenant_id=tenant_id,
            key=key,
            language=language,
            created_at=now,
            subject="",
            body="",
            updated_by=actor,
        )
    override.subject, override.body = subject, body
    override.updated_by, override.updated_at = actor, now
    session.add(override)
    session.flush()
    return override, created


def delete_override(session: Session, *, tenant_id: uuid.UUID, key: str, language: str) -> None:
    spec_for(key)
    override = _override(session, tenant_id, key, check_language(language))
    if override is None:
        raise NotFound(f"no override of {key!r} in {language!r}")
    session.delete(override)
    session.flush()
