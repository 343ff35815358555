"""/KeyfactorAPI/Certificates: the certificates kept once by thumbprint, listed, read and imported through HTTP, with
their refusals; on both databases."""

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, insert, select
from starlette.testclient import TestClient

from orchjobs.store.tables import agent, certificate, certificate_store_entry
from tests.factories import BASE_TIME, add_entry, add_store
from tests.orchestrator.certificates import make_certificate

URL = "/KeyfactorAPI/Certificates"
IMPORT = f"{URL}/Import"
INVALID = "0xA0110001"
NOT_FOUND = "0xA0110014"
BAD_SORT = "0xA011004A"
BAD_QUERY = "0xA0110040"


def build(
    common_name: str, *, rsa_key: bool = False, valid_days: int = 30, expired: bool = False
) -> tuple[x509.Certificate, Any]:
    """A self-signed certificate and its key (EC P-256 unless `rsa_key`), valid now unless `expired`."""
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa_key
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "US"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )
    now = datetime.now(UTC)
    start, end = (
        (now - timedelta(days=60), now - timedelta(days=1)) if expired else (now, now + timedelta(days=valid_days))
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode("ascii") if isinstance(data, str) else data).decode("ascii")


def thumbprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - thumbprints are SHA-1


def imported(client: TestClient, text: str, **extra: Any) -> dict[str, Any]:
    response = client.post(IMPORT, json={"Certificate": text, **extra})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def listed(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    answer: list[dict[str, Any]] = response.json()
    return answer


def certificate_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return sorted(map(tuple, conn.execute(select(certificate)).all()))


def add_agent(engine: Engine, name: str = "web01.example.com") -> uuid.UUID:
    agent_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(agent).values(id=agent_id, client_machine=name, username="svc", last_seen=BASE_TIME))
    return agent_id


def assert_refused(response: Any, status: int, code: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["ErrorCode"] == code, response.text
    assert fragment in response.json()["Message"], response.json()["Message"]


# -- import ---------------------------------------------------------------------------------------


def test_import_keeps_a_certificate_once_by_thumbprint_in_every_form(client: TestClient, engine: Engine) -> None:
    cert, _key = build("app.example.com")

    first = imported(client, pem(cert))
    again = [imported(client, form) for form in (b64(der(cert)), b64(pem(cert)), pem(cert).replace("\n", "\r\n"))]

    assert first == {
        "ImportStatus": 1,
        "InvalidKeystores": [],
        "Thumbprint": thumbprint(cert),
        "CertificateId": first["CertificateId"],
    }
    assert [answer["ImportStatus"] for answer in again] == [4, 4, 4]
    assert {answer["Thumbprint"] for answer in again} == {thumbprint(cert)}
    assert {answer["CertificateId"] for answer in again} == {first["CertificateId"]}
    assert len(certificate_rows(engine)) == 1


def test_an_imported_certificate_reads_back_in_commands_shape(client: TestClient) -> None:
    cert, _key = build("app.example.com", rsa_key=True)
    certificate_id = imported(client, b64(der(cert)))["CertificateId"]

    answer = client.get(f"{URL}/{certificate_id}").json()

    imported_at = answer.pop("ImportDate")
    assert datetime.fromisoformat(imported_at) > datetime.now(UTC) - timedelta(minutes=5)
    assert answer == {
        "Id": certificate_id,
        "Thumbprint": thumbprint(cert),
        "SerialNumber": f"{cert.serial_number:X}",
        "IssuedDN": "CN=app.example.com, C=US",
        "IssuedCN": "app.example.com",
        "NotBefore": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "NotAfter": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "IssuerDN": "CN=app.example.com, C=US",
        "KeySizeInBits": 2048,
        "KeyType": 1,
        "KeyTypeString": "RSA",
        "SigningAlgorithm": "sha256WithRSAEncryption",
        "HasPrivateKey": False,
        "ContentBytes": b64(der(cert)),
    }


def test_import_takes_the_certificate_of_a_pkcs12_file_and_not_its_key(client: TestClient, engine: Engine) -> None:
    cert, key = build("pfx.example.com")
    chain_cert, chain_key = build("chain.example.com")
    encryption = serialization.BestAvailableEncryption(b"s3cret")
    pfx = pkcs12.serialize_key_and_certificates(b"pfx", key, cert, [chain_cert], encryption)
    empty_password = pkcs12.serialize_key_and_certificates(
        b"p", chain_key, chain_cert, None, serialization.NoEncryption()
    )

    answer = imported(client, b64(pfx), Password="s3cret")
    unprotected = imported(client, b64(empty_password))

    assert answer["Thumbprint"] == thumbprint(cert)
    assert unprotected["Thumbprint"] == thumbprint(chain_cert)
    assert {row[1] for row in certificate_rows(engine)} == {thumbprint(cert), thumbprint(chain_cert)}
    assert client.get(f"{URL}/{answer['CertificateId']}").json()["HasPrivateKey"] is False


def test_import_ignores_empty_stores_metadata_and_a_schedule(client: TestClient) -> None:
    cert, _key = build("quiet.example.com")

    answer = imported(
        client,
        pem(cert),
        storeIds=[],
        StoreTypes=None,
        Metadata={},
        Schedule="2026-11-19T16:23:01Z",
        ImportMetadata=True,
        Password=None,
    )

    assert answer["Thumbprint"] == thumbprint(cert)


def _wrong_password_pfx() -> str:
    cert, key = build("locked.example.com")
    encryption = serialization.BestAvailableEncryption(b"right")
    return b64(pkcs12.serialize_key_and_certificates(b"x", key, cert, None, encryption))


REFUSED_IMPORTS: dict[str, tuple[Any, str]] = {
    "not base64": ({"Certificate": "this is *not* base64!"}, "not base64"),
    "base64 of something else": ({"Certificate": b64(b"hello, world")}, "neither an X.509 certificate"),
    "base64 of a broken PEM": ({"Certificate": b64("-----BEGIN CERTIFICATE-----\nAAAA\n")}, "PEM"),
    "empty": ({"Certificate": ""}, "Certificate is required"),
    "blank": ({"Certificate": "   "}, "Certificate is required"),
    "too large": ({"Certificate": "QUFB" * 40000}, "at most 131072 characters"),
    "null": ({"Certificate": None}, "Certificate is required"),
    "not a string": ({"Certificate": 42}, "Certificate is required"),
    "wrong password": ({"Certificate": _wrong_password_pfx(), "Password": "wrong"}, "the Password given opens"),
    "no password": ({"Certificate": _wrong_password_pfx()}, "give the Password"),
    "stores": ({"StoreIds": [str(uuid.uuid4())]}, "POST /CertificateStores/Certificates/Add"),
    "store types": ({"StoreTypes": [{"StoreTypeId": 2}]}, "POST /CertificateStores/Certificates/Add"),
    "store ids not GUIDs": ({"StoreIds": ["nope"]}, "GUID"),
    "metadata": ({"Metadata": {"Owner": "me"}}, "metadata is not kept"),
    "metadata not an object": ({"Metadata": ["Owner"]}, "Metadata must be a JSON object"),
    "password not a string": ({"Password": 7}, "Password must be a string"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_IMPORTS))
def test_import_refusals_change_nothing(client: TestClient, engine: Engine, case: str) -> None:
    existing, _key = build("existing.example.com")
    imported(client, pem(existing))
    before = certificate_rows(engine)
    good, _key = build("good.example.com")
    payload, fragment = REFUSED_IMPORTS[case]

    response = client.post(IMPORT, json={"Certificate": pem(good), **payload})

    assert_refused(response, 400, INVALID, fragment)
    assert certificate_rows(engine) == before


def test_import_refuses_a_body_that_is_not_an_object_or_lacks_the_certificate(
    client: TestClient, engine: Engine
) -> None:
    assert_refused(client.post(IMPORT, json=["x"]), 400, INVALID, "JSON object")
    assert_refused(client.post(IMPORT, json={"Password": "x"}), 400, INVALID, "Certificate is required")
    assert certificate_rows(engine) == []


# -- list and read ---------------------------------------------------------------------------------


def test_lists_by_id_and_finds_a_thumbprint_in_any_case(client: TestClient) -> None:
    certs = [build(f"host{index}.example.com")[0] for index in range(3)]
    ids = [imported(client, pem(cert))["CertificateId"] for cert in certs]
    wanted = thumbprint(certs[1])

    everything = listed(client)
    by_lower = listed(client, **{"pq.queryString": f'Thumbprint -eq "{wanted.lower()}"'})
    spaced = " ".join(wanted[i : i + 2] for i in range(0, 40, 2)).lower()
    by_spaced = listed(client, QueryString=f'thumbprint -eq "{spaced}"')
    by_prefix = listed(client, **{"pq.queryString": f'Thumbprint -startswith "{wanted[:6].lower()}"'})

    assert [item["Id"] for item in everything] == sorted(ids)
    assert "ContentBytes" not in everything[0] and "Locations" not in everything[0]
    assert [item["Id"] for item in by_lower] == [ids[1]]
    assert [item["Id"] for item in by_spaced] == [ids[1]]
    assert ids[1] in [item["Id"] for item in by_prefix]


def test_query_fields_sorting_and_paging(client: TestClient) -> None:
    rsa_cert, _ = build("rsa.example.com", rsa_key=True, valid_days=90)
    ec_certs = [build(f"ec{index}.example.com", valid_days=10 + index)[0] for index in range(3)]
    rsa_id = imported(client, pem(rsa_cert))["CertificateId"]
    ec_ids = [imported(client, pem(cert))["CertificateId"] for cert in ec_certs]
    serial = f"{ec_certs[0].serial_number:X}"

    def ids(**params: str) -> list[int]:
        return [item["Id"] for item in listed(client, **params)]

    assert ids(**{"pq.queryString": "KeyType -eq RSA"}) == [rsa_id]
    assert ids(**{"pq.queryString": "KeyType -eq 3 AND KeySizeInBits -eq 256"}) == ec_ids
    assert ids(**{"pq.queryString": 'IssuedCN -eq "EC1.EXAMPLE.COM"'}) == [ec_ids[1]]
    assert ids(**{"pq.queryString": 'CN -startswith "ec" AND IssuerDN -contains "C=US"'}) == ec_ids
    assert ids(**{"pq.queryString": f'SerialNumber -eq "{serial.lower()}"'}) == [ec_ids[0]]
    assert ids(**{"pq.queryString": "NotAfter -gt %TODAY+30%"}) == [rsa_id]
    assert ids(**{"pq.queryString": "ImportDate -ge %TODAY-1% AND NotBefore -le %TODAY%"}) == [rsa_id, *ec_ids]
    assert ids(**{"pq.sortField": "NotAfter", "pq.sortAscending": "1"}) == [rsa_id, *reversed(ec_ids)]
    assert ids(sortField="KeySizeInBits", sortAscending="0") == [*ec_ids, rsa_id]
    assert ids(**{"pq.returnLimit": "2", "pq.pageReturned": "2"}) == ec_ids[1:]
    assert ids(ReturnLimit="3", PageReturned="3") == []


def test_expired_certificates_are_listed_only_when_asked_for(client: TestClient) -> None:
    current, _ = build("current.example.com")
    expired, _ = build("expired.example.com", expired=True)
    current_id = imported(client, pem(current))["CertificateId"]
    expired_id = imported(client, pem(expired))["CertificateId"]

    assert [item["Id"] for item in listed(client)] == [current_id]
    assert [item["Id"] for item in listed(client, **{"pq.includeExpired": "true"})] == [current_id, expired_id]
    assert [item["Id"] for item in listed(client, includeExpired="True", QueryString="CN -eq expired.example.com")] == [
        expired_id
    ]
    assert client.get(f"{URL}/{expired_id}").status_code == 200


def test_verbose_adds_the_content_to_the_list(client: TestClient) -> None:
    cert, _ = build("content.example.com")
    imported(client, pem(cert))

    assert listed(client, verbose="1")[0]["ContentBytes"] == b64(der(cert))
    assert "ContentBytes" not in listed(client, verbose="0")[0]


def test_two_stores_holding_one_certificate_give_one_row_with_two_locations(client: TestClient, engine: Engine) -> None:
    shared = make_certificate("shared.example.com")
    alone = make_certificate("alone.example.com")
    web01, web02 = add_agent(engine, "web01.example.com"), add_agent(engine, "web02.example.com")
    store_a = add_store(engine, web01, path="/etc/ssl/a.pem")
    store_b = add_store(engine, web02, path="/etc/ssl/b.jks", store_type_id=1)
    add_entry(engine, store_a, "shared-a", shared.pem)
    add_entry(engine, store_b, "shared-b", shared.pem)
    add_entry(engine, store_a, "alone", alone.pem)

    rows = listed(client, includeLocations="true")
    by_cn = {row["IssuedCN"]: row for row in rows}
    single = client.get(f"{URL}/{by_cn['shared.example.com']['Id']}", params={"includeLocations": "TRUE"}).json()

    assert len(rows) == 2
    expected_locations = [
        {
            "StoreMachine": "web01.example.com",
            "StorePath": "/etc/ssl/a.pem",
            "StoreType": 2,
            "Alias": "shared-a",
            "ChainLevel": 0,
            "CertStoreId": str(store_a),
        },
        {
            "StoreMachine": "web02.example.com",
            "StorePath": "/etc/ssl/b.jks",
            "StoreType": 1,
            "Alias": "shared-b",
            "ChainLevel": 0,
            "CertStoreId": str(store_b),
        },
    ]
    assert by_cn["shared.example.com"]["Locations"] == expected_locations
    assert by_cn["shared.example.com"]["LocationsCount"] == [{"Type": "JKS", "Count": 1}, {"Type": "PEM", "Count": 1}]
    assert by_cn["alone.example.com"]["LocationsCount"] == [{"Type": "PEM", "Count": 1}]
    assert single["Locations"] == expected_locations
    assert "Locations" not in client.get(f"{URL}/{single['Id']}").json()


def test_a_certificate_in_no_store_has_empty_locations(client: TestClient) -> None:
    cert, _ = build("nowhere.example.com")
    certificate_id = imported(client, pem(cert))["CertificateId"]

    answer = client.get(f"{URL}/{certificate_id}", params={"includeLocations": "true"}).json()

    assert answer["Locations"] == [] and answer["LocationsCount"] == []


def test_inventories_and_imports_share_one_row(client: TestClient, engine: Engine) -> None:
    made = make_certificate("both.example.com")
    store_id = add_store(engine, add_agent(engine))
    add_entry(engine, store_id, "both", made.pem)

    answer = imported(client, made.pem)

    assert answer["ImportStatus"] == 4
    with engine.connect() as conn:
        entry_certificate = conn.execute(select(certificate_store_entry.c.certificate_id)).scalar_one()
    assert answer["CertificateId"] == entry_certificate


@pytest.mark.parametrize(
    ("path", "status", "code", "fragment"),
    [
        ("999999", 404, NOT_FOUND, "Certificate 999999 was not found"),
        ("0", 404, NOT_FOUND, "was not found"),
        ("abc", 400, INVALID, "'abc' is not a certificate id"),
        ("1.5", 400, INVALID, "is not a certificate id"),
        ("99999999999", 400, INVALID, "is not a certificate id"),
    ],
)
def test_get_refusals(client: TestClient, path: str, status: int, code: str, fragment: str) -> None:
    assert_refused(client.get(f"{URL}/{path}"), status, code, fragment)


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({"pq.queryString": "Owner -eq me"}, BAD_QUERY, "unknown field 'Owner'"),
        ({"pq.queryString": "Thumbprint -gt AB"}, BAD_QUERY, "-gt does not apply to hexadecimal field Thumbprint"),
        ({"pq.queryString": "KeyType -eq Quantum"}, BAD_QUERY, "'Quantum' is not a value of KeyType"),
        ({"pq.sortField": "Owner"}, BAD_SORT, "Owner"),
        ({"pq.returnLimit": "0"}, INVALID, "ReturnLimit"),
        ({"includeLocations": "maybe"}, INVALID, "includelocations must be true or false"),
        ({"pq.includeExpired": "yes"}, INVALID, "includeexpired must be true or false"),
        ({"verbose": "loud"}, INVALID, "verbose must be a whole number"),
    ],
)
def test_list_refusals(client: TestClient, params: dict[str, str], code: str, fragment: str) -> None:
    assert_refused(client.get(URL, params=params), 400, code, fragment)
