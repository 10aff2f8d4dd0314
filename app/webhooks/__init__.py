"""Outgoing webhooks: outbox rows written with each event, a dispatcher that signs and sends.

``publish``              fan-out in the event's transaction (subscribed to ``app.outbox``)
``dispatch/job``         the ``deliver-webhooks`` job and the delivery contract (read it first)
``dispatch/leases``      lease due deliveries with FOR UPDATE SKIP LOCKED, in per-parcel order
``dispatch/sender``      one guarded, signed HTTP attempt; ``sign`` Standard Webhooks signatures
``dispatch/records``     attempt log, retries, endpoint health (410, failing for days)
``dispatch/retry``       the retry schedule and Retry-After (pure)
``dispatch/payloads``    the body, the same bytes on every attempt
``endpoints/service``    subscriptions; ``secrets`` signing secrets encrypted at rest
``endpoints/ssrf``       which URLs and addresses we send to (pure, plus DNS)
``redelivery``           retry, replay, test; ``queries`` reads; ``examples`` one per event type
``models`` ``schemas`` ``router``  tables, API schemas, routes
"""
