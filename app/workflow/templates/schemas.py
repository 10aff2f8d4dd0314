"""Template library API schemas: the catalogue, our texts per language, a tenant's override."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.schemas import InputModel

TemplateKey = str

Language = str


class TemplateParamRead(BaseModel):
    name: str
    kind: str
    required: bool
    choices: list[str] | None
    description: str


class TemplateSummaryRead(BaseModel):
    key: str
    description: str
    languages: list[str] = Field(description="Languages our library has.")
    overridden_languages: list[str] = Field(description="Languages this tenant has rewritten.")
    params: list[TemplateParamRead]


class TemplateTextRead(BaseModel):
    language: str
    source: Literal["library", "tenant"]
    subject: str
    body: str
    updated_at: datetime | None = None
    updated_by: str | None = None


class TemplateRead(TemplateSummaryRead):
    texts: list[TemplateTextRead] = Field(description="The texts in use, per language.")
    library_texts: list[TemplateTextRead]


class TemplateOverrideUpdate(InputModel):
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20_000)
