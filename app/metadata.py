"""The whole schema in one place: every feature's tables, imported for their side of the metadata.

Alembic (``alembic/env.py``), the models/migrations agreement test and anything that needs all
tables at once import ``metadata`` from here. A new feature with tables adds one line below.
It sits beside the entry points, above every feature: nothing in ``app`` imports it.
"""

from __future__ import annotations

from app.carriers import models as carriers
from app.core import models as core
from app.db.tables import metadata
from app.evidence import models as evidence
from app.incidents import models as incidents
from app.notify import models as notify
from app.outbox import models as outbox
from app.parcels import models as parcels
from app.people import models as people
from app.stuck import models as stuck
from app.webhooks import models as webhooks
from app.workflow.claims import models as claims
from app.workflow.messages import models as messages
from app.workflow.templates import models as templates

FEATURE_MODELS = (
    carriers,
    core,
    evidence,
    incidents,
    notify,
    outbox,
    parcels,
    people,
    stuck,
    webhooks,
    claims,
    messages,
    templates,
)

__all__ = ["FEATURE_MODELS", "metadata"]
