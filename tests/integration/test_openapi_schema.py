"""The OpenAPI schema documents every error answer and header (issue 10, item 2), so that the
Schemathesis run (test_fuzz_api.py) can check statuses, content types and headers too."""

from __future__ import annotations

import pytest

from api.errors import PROBLEM


@pytest.fixture()
def schema(http):
    r = http.get("/schema/openapi.json")
    assert r.status_code == 200
    return r.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def test_every_operation_documents_its_errors_as_problem_documents(schema):
    count = 0
    for method, path, op in _operations(schema):
        count += 1
        codes = set(op["responses"])
        assert {"400", "413", "422", "503"} <= codes, (method, path, codes)
        if not path.startswith("/health"):
            assert "401" in codes, (method, path)  # logging in: a wrong password
        if "{" in path:
            assert "404" in codes, (method, path)
        if method != "GET":
            assert "403" in codes, (method, path)
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                assert response["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert op["responses"]["503"]["headers"]["Retry-After"]["required"] is True
    assert count >= 40


def test_login_answers_200_and_documents_throttling(schema):
    login = schema["paths"]["/api/session"]["post"]["responses"]
    assert "200" in login and "201" not in login
    assert {"401", "429"} <= set(login) and "Retry-After" in login["429"]["headers"]


def test_writes_based_on_a_version_document_if_match_and_etag(schema):
    op = schema["paths"]["/api/plans/{plan_id}"]["patch"]
    header = next(p for p in op["parameters"] if p["name"] == "If-Match")
    assert header["in"] == "header" and header["required"] is False
    assert {"409", "428"} <= set(op["responses"])
    assert "ETag" in op["responses"]["200"]["headers"]
    read = schema["paths"]["/api/plans/{plan_id}"]["get"]
    assert "ETag" in read["responses"]["200"]["headers"]
    assert not any(p["name"] == "If-Match" for p in read.get("parameters", []))


def test_if_match_is_documented_exactly_where_handlers_read_it(schema):
    from api.app import API_ROUTES
    from api.controllers import assessments, choices, reports, shares
    from api.openapi_docs import _source

    reads = {(method, path.replace(":str}", "}").replace(":int}", "}"))
             for handler in [*API_ROUTES, *choices.ROUTES, *shares.ROUTES, *assessments.ROUTES, *reports.ROUTES]
             if "if_match_version(" in _source(handler)
             for method in handler.http_methods for path in handler.paths}
    documented = {(m, p) for m, p, op in _operations(schema)
                  if any(x["name"] == "If-Match" for x in op.get("parameters", []))}
    assert len(reads) >= 8 and documented == reads
