"""Outgoing webhooks: outbox rows written with each event, a dispatcher that signs and sends.

``publish``      fan-out in the caller's transaction (one delivery row per matching endpoint)
``deliver``      the dispatcher job and the delivery contract (read its docstring first)
``claims``       lease due deliveries with FOR UPDATE SKIP LOCKED, in per-parcel order
``sender``       one guarded, signed HTTP attempt
``records``      attempt log, retries, endpoint health (410, failing for days)
``retry``        the retry schedule and Retry-After (pure)
``ssrf``         which URLs and addresses we send to (pure, plus DNS)
``sign``         Standard Webhooks signatures (pure)
``signing_secrets``  signing secrets encrypted at rest
``payloads``     the body, the same bytes on every attempt; ``examples`` one per event type
``endpoints``    subscriptions; ``redelivery`` retry, replay, test; ``delivery_queries`` reads
"""
