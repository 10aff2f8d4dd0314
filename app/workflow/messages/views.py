"""A stored message as the API shows it."""

from __future__ import annotations

from app.workflow.messages.models import CustomerMessage
from app.workflow.messages.schemas import MessageRead


def message_view(message: CustomerMessage) -> MessageRead:
    return MessageRead.model_validate({**message.model_dump(), "actor": message.actor.view()})
