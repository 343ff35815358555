"""/KeyfactorAPI/Certificates: list and read the certificates kept here (found by inventories or imported), and import
one.

Reads need /certificates/collections/read/, imports /certificates/import/ (api/permissions.py).
"""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, listing, paths, wire
from orchjobs.api import request_docs as docs
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import page_request
from orchjobs.api.schemas import CertificateImportRequest, CertificateImportResponse, CertificateResponse
from orchjobs.domain.certificates import KeyType
from orchjobs.domain.numbers import lenient_int
from orchjobs.errors import InvalidRequestError
from orchjobs.service import certificates
from orchjobs.service.certificates import CertificatePage, ImportRequest

router = APIRouter(prefix=paths.CERTIFICATES, tags=["Certificate"])

_INT32_MAX = 2**31 - 1
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0", ""})
_KEY_TYPE_STRINGS = {int(KeyType.UNKNOWN): "Unknown", 1: "RSA", 2: "DSA", 3: "ECC", 4: "DH"}
# ImportStatus (Command's CertificateSavedState): the certificate is new here, or was already kept.
IMPORTED_NEW = 1
IMPORTED_EXISTING = 4
_FLAG = {"type": "string", "enum": ["true", "false"]}
_LOCATIONS = ("includeLocations", _FLAG, False, "true: add Locations and LocationsCount.")
_LIST_DOC = docs.combined(
    listing.documented(),
    docs.query_parameters(
        ("pq.includeExpired", _FLAG, False, "true: expired certificates too."),
        _LOCATIONS,
        ("verbose", docs.INTEGER, False, "1 or more: add ContentBytes."),
    ),
)
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": CertificateImportRequest.model_json_schema()}},
    }
}


@router.get("", response_model=list[CertificateResponse], openapi_extra=_LIST_DOC)
def get_certificates(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Certificates, filtered by `pq.queryString` (e.g. `Thumbprint -eq "…"`), sorted (Id ascending by default) and
    paged. Expired certificates only with `pq.includeExpired=true`; `includeLocations=true` adds Locations and
    LocationsCount; `verbose=1` adds ContentBytes."""
    parameters = _parameters(request)
    page = certificates.list_certificates(
        context.engine,
        page_request(request, max_limit=context.settings.max_return_limit),
        include_expired=_flag(parameters, "includeexpired"),
        include_locations=_flag(parameters, "includelocations"),
        with_content=_verbose(parameters) > 0,
        now=context.clock(),
        max_query_length=context.settings.max_query_length,
    )
    return wire.json_response(_items(page))


@router.get("/{certificate_id}", response_model=CertificateResponse, openapi_extra=docs.query_parameters(_LOCATIONS))
def get_certificate(certificate_id: str, request: Request, context: ContextDep, _user: UserDep) -> Response:
    """One certificate, with its ContentBytes; `includeLocations=true` adds Locations and LocationsCount. 404 for an
    unknown id, 400 when the id is not a whole number."""
    parameters = _parameters(request)
    _verbose(parameters)
    page = certificates.get_certificate(
        context.engine,
        certificate_id=_certificate_id(certificate_id),
        include_locations=_flag(parameters, "includelocations"),
    )
    return wire.json_response(_items(page)[0])


@router.post("/Import", response_model=CertificateImportResponse, openapi_extra=_IMPORT_BODY)
async def import_certificate(request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Keep a certificate (PEM, or base64 of DER, PEM or a PKCS#12 file with its Password), once by thumbprint: the
    same certificate imported again answers the same Thumbprint and Id. Its private key is not kept. StoreIds,
    StoreTypes and Metadata must be empty (400 otherwise)."""
    payload = await body.read_object(request)
    text = payload.get("certificate")
    if not isinstance(text, str):
        raise InvalidRequestError("Certificate is required: the base64 of a certificate (DER, PEM or PKCS#12).")
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidRequestError("Metadata must be a JSON object.")
    store_types = payload.get("storetypes")
    if store_types is not None and not isinstance(store_types, list):
        raise InvalidRequestError("StoreTypes must be an array.")
    import_request = ImportRequest(
        certificate=text,
        password=body.optional_string(payload, "Password"),
        store_ids=body.optional_guid_list(payload, "StoreIds") or (),
        store_types=store_types or (),
        metadata=metadata or {},
    )
    result = await run_in_threadpool(
        certificates.import_certificate, context.engine, import_request, now=context.clock()
    )
    return wire.json_response(
        {
            "ImportStatus": IMPORTED_NEW if result.created else IMPORTED_EXISTING,
            "InvalidKeystores": [],
            "Thumbprint": result.thumbprint,
            "CertificateId": result.certificate_id,
        }
    )


# -- wire ------------------------------------------------------------------------------------


def _items(page: CertificatePage) -> list[dict[str, Any]]:
    return [certificate_item(row, page) for row in page.rows]


def certificate_item(row: Any, page: CertificatePage) -> dict[str, Any]:
    """One CertificateRetrievalResponse: what is known of the certificate, nothing invented."""
    item: dict[str, Any] = {
        "Id": row.id,
        "Thumbprint": row.thumbprint,
        "SerialNumber": row.serial_number,
        "IssuedDN": row.issued_dn,
    }
    if row.issued_cn is not None:
        item["IssuedCN"] = row.issued_cn
    item.update(
        {
            "ImportDate": row.import_date,
            "NotBefore": row.not_before,
            "NotAfter": row.not_after,
            "IssuerDN": row.issuer_dn,
            "KeySizeInBits": row.key_size,
            "KeyType": row.key_type,
            "KeyTypeString": _KEY_TYPE_STRINGS.get(row.key_type, "Unknown"),
            "SigningAlgorithm": row.signing_algorithm,
            "HasPrivateKey": False,
        }
    )
    content = getattr(row, "content", None)
    if content is not None:
        item["ContentBytes"] = content
    if page.locations is not None:
        item["Locations"] = [
            {
                "StoreMachine": location.store_machine,
                "StorePath": location.store_path,
                "StoreType": location.store_type,
                "Alias": location.alias,
                "ChainLevel": 0,
                "CertStoreId": str(location.store_id),
            }
            for location in page.locations.get(row.id, [])
        ]
        item["LocationsCount"] = [
            {"Type": count.type, "Count": count.count} for count in (page.counts or {}).get(row.id, [])
        ]
    return item


# -- request parsing -------------------------------------------------------------------------


def _parameters(request: Request) -> dict[str, str]:
    """The query parameters by lower-cased name, `pq.` dropped (ASP.NET binds them case-insensitively)."""
    return {key.lower().removeprefix("pq."): value for key, value in request.query_params.multi_items()}


def _flag(parameters: dict[str, str], name: str) -> bool:
    raw = parameters.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise InvalidRequestError(f"{name} must be true or false, not {parameters[name]!r}.")


def _verbose(parameters: dict[str, str]) -> int:
    raw = parameters.get("verbose", "").strip()
    if not raw:
        return 0
    number = lenient_int(raw)
    if number is None or not 0 <= number <= _INT32_MAX:
        raise InvalidRequestError(f"verbose must be a whole number of 0 or more, not {raw!r}.")
    return number


def _certificate_id(text: str) -> int:
    number = lenient_int(text)
    if number is None or not -_INT32_MAX - 1 <= number <= _INT32_MAX:
        raise InvalidRequestError(f"'{text}' is not a certificate id: a whole number is expected.")
    return number
