"""Render message templates safely: Jinja2's immutable sandbox plus a whitelist of syntax.

Tenants write their own templates, so a template is untrusted code. The sandbox stops access
to Python internals; on top of it only plain output, ``if``, comparisons, attribute and item
lookups and a few text filters are allowed: no loops, calls, macros, includes or arithmetic,
so a template cannot burn CPU or memory. Undefined names are errors (StrictUndefined).

Each template renders twice: as text (what a helpdesk or chat sends) and as HTML with every
value autoescaped (what a mailer sends), paragraphs split on blank lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

TEMPLATE_FILENAME = "<template>"
MAX_OUTPUT_CHARS = 20_000
_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Getattr,
    nodes.Getitem,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
    nodes.Filter,
    nodes.Test,
)
_ALLOWED_FILTERS = frozenset(
    {"upper", "lower", "title", "capitalize", "trim", "default", "d", "e", "escape", "truncate"}
)
_ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "string", "number"})


class TemplateRefused(Exception):
    """The template cannot be used; ``line`` is where in it (1-based), when known."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def _environment(*, html: bool) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        autoescape=html, undefined=StrictUndefined, keep_trailing_newline=False
    )


_TEXT = _environment(html=False)
_HTML = _environment(html=True)


def check_syntax(source: str) -> None:
    """Parse and walk the template; refuse anything outside the whitelist, naming its line."""
    try:
        tree = _TEXT.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateRefused(exc.message or "syntax error", exc.lineno) from None
    for node in tree.find_all(nodes.Node):
        line = getattr(node, "lineno", None)
        if not isinstance(node, _ALLOWED_NODES):
            raise TemplateRefused(f"{type(node).__name__} is not allowed in a template", line)
        if isinstance(node, nodes.Filter) and node.name not in _ALLOWED_FILTERS:
            raise TemplateRefused(f"filter {node.name!r} is not allowed", line)
        if isinstance(node, nodes.Test) and node.name not in _ALLOWED_TESTS:
            raise TemplateRefused(f"test {node.name!r} is not allowed", line)


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> Any:
    check_syntax(source)
    return (_HTML if html else _TEXT).from_string(source)


def _render(source: str, context: dict[str, Any], *, html: bool) -> str:
    try:
        output = str(_compiled(source, html).render(context))
    except TemplateRefused:
        raise
    except TemplateError as exc:
        raise TemplateRefused(exc.message or type(exc).__name__, _template_line(exc)) from None
    if len(output) > MAX_OUTPUT_CHARS:
        raise TemplateRefused(f"renders to more than {MAX_OUTPUT_CHARS} characters", None)
    return output


def _template_line(exc: BaseException) -> int | None:
    """Jinja rewrites tracebacks so frames of the template carry its name and line."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _paragraphs(rendered_html: str) -> str:
    """Blank-line separated blocks become paragraphs, single newlines ``<br>``."""
    blocks = [block.strip() for block in rendered_html.split("\n\n") if block.strip()]
    return "\n".join(
        Markup("<p>")
        + Markup("<br>\n").join(Markup(line) for line in block.split("\n"))  # noqa: S704 escaped
        + Markup("</p>")
        for block in blocks
    )


def _tidy(text: str) -> str:
    """Trailing spaces off, no run of blank lines longer than one (left by false ``if``s)."""
    lines = [line.rstrip() for line in text.strip().split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept)


def render(subject: str, body: str, context: dict[str, Any]) -> Rendered:
    """Subject (one line of text), body as text, body as HTML with values escaped."""
    try:
        subject_text = " ".join(_render(subject, context, html=False).split())
    except TemplateRefused as exc:
        raise SubjectRefused(exc.message, exc.line) from None
    text = _tidy(_render(body, context, html=False))
    html = _paragraphs(_tidy(_render(body, context, html=True)))
    return Rendered(subject=subject_text, text=text, html=html)


class SubjectRefused(TemplateRefused):
    """The subject line, not the body, is what failed."""


def escape_text(value: str) -> str:
    """HTML for a free-text message: every character escaped, paragraphs kept."""
    return _paragraphs(str(escape(value)))
