"""A method a path does not serve is a 405 whose ``Allow`` lists every method it does serve."""

from __future__ import annotations

import re

from tests.factories import ApiClient

_METHODS = {"get", "post", "put", "patch", "delete"}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)


def test_every_path_names_all_its_methods_in_allow(api: ApiClient) -> None:
    """Probe finding: ``DELETE /v1/parcels`` answered ``Allow: POST`` though GET works too,
    because only the first route matching the path was asked."""
    paths = api.get("/openapi.json").json()["paths"]
    checked = 0
    for path, operations in paths.items():
        served = {method for method in operations if method in _METHODS}
        for method in sorted(_METHODS - served):
            answer = api.client.request(
                method.upper(), _concrete(path), headers={"Authorization": f"Bearer {api.key}"}
            )
            if answer.status_code != 405:
                continue  # another path template catches it (e.g. /export under /{id})
            checked += 1
            assert answer.headers["content-type"] == "application/problem+json"
            assert set(answer.headers["allow"].split(", ")) >= {m.upper() for m in served}, path
            assert answer.json()["allowed"] == answer.headers["allow"].split(", ")
    assert checked > 50


def test_a_list_path_allows_get_and_post(api: ApiClient) -> None:
    answer = api.client.delete("/v1/parcels", headers={"Authorization": f"Bearer {api.key}"})

    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"
    assert answer.json()["detail"] == "DELETE is not allowed on this path; allowed: GET, POST"
