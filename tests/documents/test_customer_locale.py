"""A customer's `locale`: en_US unless given, any locale Babel knows (as the schema's enum declares), never null."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fubble.documents.locales import known_locales
from tests.documents.helpers import openapi

CUSTOMER = {"name": "Globex", "email": "ap@globex.example"}


def test_default_create_update_and_read(client: TestClient) -> None:
    plain = client.post("/customers/", json=CUSTOMER).json()
    assert plain["locale"] == "en_US"
    french = client.post("/customers/", json={"name": "Lyon", "email": "l@example.fr", "locale": "fr_FR"})
    assert french.status_code == 201, french.text
    assert french.json()["locale"] == "fr_FR"
    updated = client.put(f"/customers/{plain['id']}", json={"locale": "de_DE"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["locale"] == "de_DE"
    assert client.get(f"/customers/{plain['id']}").json()["locale"] == "de_DE"
    assert client.put(f"/customers/{plain['id']}", json={"name": "Globex 2"}).json()["locale"] == "de_DE"
    assert [c["locale"] for c in client.get("/customers/").json()] == ["de_DE", "fr_FR"]


def test_unknown_or_null_locale_is_422_naming_it(client: TestClient) -> None:
    for bad in ("xx_XX", "de-DE", "de_de", "", "en_US ", "root", 5, None, "x" * 36):
        response = client.post("/customers/", json={**CUSTOMER, "locale": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "locale"], bad
    customer = client.post("/customers/", json=CUSTOMER).json()
    for bad in ("xx_XX", None):
        response = client.put(f"/customers/{customer['id']}", json={"locale": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "locale"], bad
    assert client.get(f"/customers/{customer['id']}").json()["locale"] == "en_US"


def test_the_schema_declares_exactly_the_accepted_locales() -> None:
    schemas = openapi()["components"]["schemas"]
    for name in ("CustomerCreate", "CustomerUpdate"):
        declared = schemas[name]["properties"]["locale"]
        assert declared["enum"] == list(known_locales()), name
        assert {"en_US", "de_DE", "fr_FR", "ja_JP", "pt_BR"} <= set(declared["enum"])
        assert "root" not in declared["enum"]
    assert schemas["CustomerCreate"]["properties"]["locale"]["default"] == "en_US"
