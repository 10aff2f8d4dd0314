"""Tenant isolation, generated from the OpenAPI paths, so a new route cannot slip past.

Tenant "acme" gets one of every resource; tenant "globex" (every scope) then calls every
method of every path with an id, filled with acme's ids and a body that would be accepted.
Each answer must be a problem+json 404 carrying none of acme's ids, tracking number, order,
e-mail, webhook URL or wording, and afterwards everything acme reads is as it was. A path
parameter without an acme value fails the test. Lists (every GET without a path parameter)
never show acme's rows to globex, and do show them to acme. An Idempotency-Key is replayed
only to the key that sent it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import httpx
from fastapi import FastAPI

from tests.contract.seed import TEMPLATE, Seeded, jpeg, seed_tenant
from tests.factories import ApiClient

# Paths with an id that is not a tenant's object, and what is asserted instead.
# The job name is a global job run by an admin for every tenant: not called here (running
# "poll" would, rightly, change acme's parcels).
NOT_TENANT_OWNED = {("post", "/v1/admin/jobs/{job}/run")}
# The template library is shared; a tenant's own wording is not. Globex may read the library
# and keep wording of its own, but never sees or changes acme's (checked by the re-read).
SHARED_CATALOGUE = {
    ("get", "/v1/templates/{key}"),
    ("put", "/v1/templates/{key}/{language}"),
    ("delete", "/v1/templates/{key}/{language}"),
}
# Lists that are the same for every tenant: only "no acme data" is asserted.
GLOBAL_LISTS = {"/v1/carriers", "/v1/event-types", "/v1/templates"}
# Lists that the OpenAPI does not describe as pages: the tracker export streams CSV rows.
EXTRA_LISTS = {"/v1/incidents/export"}


def _requests(acme: Seeded, etag: str) -> dict[tuple[str, str], dict[str, Any]]:
    """A body (and headers) each operation would accept from acme, so that only the tenant
    check can turn it away. An operation that takes a body must be listed."""
    inc = "/v1/incidents/{incident_id}"
    return {
        ("post", "/v1/parcels/{parcel_id}/scans"): {
            "json": {
                "scans": [
                    {
                        "status": "in_transit",
                        "occurred_at": "2026-03-10T08:00:00+00:00",
                        "description": "Departed facility",
                    }
                ]
            }
        },
        ("patch", "/v1/parcels/{parcel_id}"): {"json": {"customer": {"proactive_notices": False}}},
        ("patch", inc): {"json": {"description": "changed"}, "headers": {"If-Match": etag}},
        ("post", f"{inc}/transitions"): {"json": {"to": "in_progress"}},
        ("post", f"{inc}/actions"): {"json": {"kind": "note", "text": "Looked at it"}},
        ("patch", "/v1/webhook-endpoints/{endpoint_id}"): {"json": {"description": "mine"}},
        ("post", "/v1/webhook-endpoints/{endpoint_id}/replay"): {
            "json": {"since": "2026-01-01T00:00:00+00:00"}
        },
        ("post", f"{inc}/process/assessment"): {
            "json": {"substantiated": True, "reason": "Photos show a crushed box"}
        },
        ("post", f"{inc}/process/department"): {"json": {"department": "Logistics"}},
        ("post", f"{inc}/process/root-cause"): {"json": {"root_cause": "packaging"}},
        ("post", f"{inc}/process/proposal"): {"json": {"solution": "Refund the order"}},
        ("post", f"{inc}/process/approval"): {"json": {}},
        ("post", f"{inc}/process/rejection"): {"json": {"reason": "Too much"}},
        ("post", f"{inc}/process/execution"): {
            "json": {"resolution": "refunded", "summary": "Refunded", "message_id": acme.message_id}
        },
        ("post", f"{inc}/process/lessons"): {"json": {"lessons_learned": "Double-box it"}},
        ("post", f"{inc}/messages/preview"): {
            "json": {"template_key": "delay_notice", "params": {"reason": "peak_season"}}
        },
        ("post", f"{inc}/messages"): {"json": {"channel": "email", "text": "Hello"}},
        ("put", "/v1/templates/{key}/{language}"): {
            "json": {"subject": "Globex {{ order_id }}", "body": "Hallo {{ customer_name }}"}
        },
        # a multipart upload: the OpenAPI shows no body, the handler streams the form itself
        ("post", f"{inc}/evidence"): {"files": {"file": ("box.jpg", jpeg())}},
        ("post", f"{inc}/claims"): {
            "json": {"claim_type": "lost", "amount": "10", "currency": "EUR"}
        },
        ("post", f"{inc}/claims/{{claim_id}}/transitions"): {
            "json": {"to": "filed", "carrier_reference": "UPS-CLM-1"}
        },
    }


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    ]


def _call(api: ApiClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api.key}", **kwargs.pop("headers", {})}
    response: httpx.Response = api.client.request(method.upper(), url, headers=headers, **kwargs)
    return response


def _leaked(response: httpx.Response, seeded: Seeded, sent: str = "") -> list[str]:
    """The tenant's data in an answer; what the caller ``sent`` may be echoed ("... not found")."""
    text = response.content.decode("utf-8", errors="replace")
    return [secret for secret in seeded.secrets if secret in text and secret not in sent]


def _fingerprint(response: httpx.Response) -> tuple[int, str]:
    """What a read shows: the JSON as parsed, else the bytes' digest (files, CSV); the evidence
    pack is built anew on every read (a PDF has its own id), so only its type is kept."""
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        return response.status_code, repr(response.json())
    if content_type.startswith(("application/pdf", "application/zip")):
        return response.status_code, content_type
    return response.status_code, hashlib.sha256(response.content).hexdigest()


def _everything_acme_reads(app: FastAPI, acme_api: ApiClient, acme: Seeded) -> dict[str, Any]:
    """Every tenant read (``/v1``), with acme's ids in the paths."""
    reads: dict[str, Any] = {}
    for method, path, _ in _operations(app):
        if method == "get" and path.startswith("/v1/"):
            url = path.format(**acme.path_ids)
            reads[url] = _fingerprint(_call(acme_api, "get", url))
    return reads


def _is_list(document: dict[str, Any], operation: dict[str, Any]) -> bool:
    """A 200 that is an array, or a page (an object with ``items``)."""
    content = operation["responses"].get("200", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema.get("type") == "array" or "items" in schema.get("properties", {})


def _seed_both(api: ApiClient, other_api: ApiClient) -> tuple[Seeded, Seeded]:
    acme = seed_tenant(
        api,
        marker="acme",
        order_id="SO-ACME-1",
        tracking_number="SANDBOX-INTRANSIT-ACME1",
        email="maria@acme.example",
    )
    globex = seed_tenant(
        other_api,
        marker="globex",
        order_id="SO-GLOBEX-1",
        tracking_number="SANDBOX-INTRANSIT-GLOBEX1",
        email="jonas@globex.example",
    )
    return acme, globex


def test_another_tenant_gets_404_and_nothing_else_on_every_route_with_an_id(
    app: FastAPI, api: ApiClient, other_api: ApiClient
) -> None:
    acme, _ = _seed_both(api, other_api)
    etag = api.get(f"/v1/incidents/{acme.incident_id}").headers["etag"]
    requests = _requests(acme, etag)
    before = _everything_acme_reads(app, api, acme)

    checked: list[str] = []
    problems: list[str] = []
    for method, path, operation in _operations(app):
        names = re.findall(r"{(\w+)}", path)
        if not names or (method, path) in NOT_TENANT_OWNED:
            continue
        unknown = [name for name in names if name not in acme.path_ids]
        if unknown:
            problems.append(f"{method.upper()} {path}: no acme value for {unknown}")
            continue
        kwargs = requests.get((method, path))
        if kwargs is None and "requestBody" in operation:
            problems.append(f"{method.upper()} {path}: takes a body; add one to _requests")
            continue
        label = f"{method.upper()} {path}"
        url = path.format(**acme.path_ids)
        response = _call(other_api, method, url, **(kwargs or {}))
        checked.append(label)
        if leaks := _leaked(response, acme, sent=url + json.dumps((kwargs or {}).get("json"))):
            problems.append(f"{label}: answer shows acme's {leaks}")
        if (method, path) in SHARED_CATALOGUE:
            if response.status_code >= 500:
                problems.append(f"{label}: {response.status_code} {response.text[:200]}")
            continue
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        if response.status_code != 404 or not problem:
            problems.append(f"{label}: {response.status_code} {response.text[:200]}")

    assert not problems, "\n".join(problems)
    assert len(checked) >= 40, checked  # the paths were found (45 when this was written)
    assert "POST /v1/incidents/{incident_id}/claims/{claim_id}/transitions" in checked
    assert _everything_acme_reads(app, api, acme) == before
    wording = api.get(f"/v1/templates/{TEMPLATE[0]}").json()["texts"]
    assert acme.wording in [text["subject"] for text in wording]


def test_lists_show_a_tenant_its_own_rows_and_never_another_tenants(
    app: FastAPI, api: ApiClient, other_api: ApiClient
) -> None:
    acme, globex = _seed_both(api, other_api)
    document = app.openapi()

    lists: list[str] = []
    problems: list[str] = []
    for method, path, operation in _operations(app):
        if method != "get" or "{" in path:
            continue
        as_globex = _call(other_api, "get", path)
        if leaks := _leaked(as_globex, acme):
            problems.append(f"GET {path}: globex sees acme's {leaks}")
        if path in GLOBAL_LISTS or not (_is_list(document, operation) or path in EXTRA_LISTS):
            continue
        lists.append(path)
        if not _leaked(_call(api, "get", path), acme):
            problems.append(f"GET {path}: acme does not see its own rows")
        if not _leaked(as_globex, globex):
            problems.append(f"GET {path}: globex does not see its own rows")

    assert not problems, "\n".join(problems)
    assert {"/v1/parcels", "/v1/incidents", "/v1/webhook-endpoints"} <= set(lists), lists


def test_an_idempotency_key_replays_only_to_the_tenant_that_sent_it(
    api: ApiClient, other_api: ApiClient
) -> None:
    body = {
        "order_id": "SO-SHARED-1",
        "tracking_number": "SANDBOX-INTRANSIT-SHARED1",
        "customer": {"name": "Ana Lima", "email": "ana@acme.example"},
    }
    headers = {"Idempotency-Key": "storefront-retry-0001"}
    first = api.post("/v1/parcels", json=body, headers=headers)
    again = api.post("/v1/parcels", json=body, headers=headers)
    theirs = other_api.post("/v1/parcels", json=body, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201), first.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert theirs.status_code == 201, theirs.text
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != first.json()["id"]
