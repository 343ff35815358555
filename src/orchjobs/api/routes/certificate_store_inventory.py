"""/KeyfactorAPI/CertificateStores/{id}/Inventory: what the last inventory of a certificate store found, one item per
entry (alias) with its certificate. (The stores themselves are served by api/routes/certificate_stores.py.)

Needs /certificate_stores/read/ (api/permissions.py).
"""

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from orchjobs.api import body, listing, paths, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.listing import page_request
from orchjobs.api.schemas import StoreInventoryResponse
from orchjobs.service import certificates

router = APIRouter(prefix=paths.CERTIFICATE_STORES, tags=["CertificateStore"])

# Command v10 names the paging parameters `query.pageReturned` …; `pq.` and no prefix work too.
_PREFIXES = ("query.", "pq.")


@router.get(
    "/{store_id}/Inventory",
    response_model=list[StoreInventoryResponse],
    openapi_extra=listing.documented(prefixes=_PREFIXES),
)
def get_inventory(store_id: str, request: Request, context: ContextDep, _user: UserDep) -> Response:
    """The store's entries by alias (`query.sortField=Name`, ascending unless `query.sortAscending=1`), paged with
    `query.pageReturned` and `query.returnLimit`; an empty array past the last page. 404 for an unknown store, 400
    when the id is not a GUID."""
    rows = certificates.store_inventory(
        context.engine,
        store_id=body.path_guid(store_id, what="a certificate store id"),
        request=page_request(request, max_limit=context.settings.max_return_limit, prefixes=_PREFIXES),
    )
    return wire.json_response([inventory_item(row) for row in rows])


def inventory_item(row: Any) -> dict[str, Any]:
    """One CertificateStoreInventory: the alias and its one certificate."""
    return {
        "Name": row.alias,
        "Certificates": [
            {
                "Id": row.id,
                "IssuedDN": row.issued_dn,
                "SerialNumber": row.serial_number,
                "NotBefore": row.not_before,
                "NotAfter": row.not_after,
                "SigningAlgorithm": row.signing_algorithm,
                "IssuerDN": row.issuer_dn,
                "Thumbprint": row.thumbprint,
                "Metadata": {},
            }
        ],
        "Parameters": {},
        "PrivateKeyEntry": bool(row.private_key_entry),
    }
