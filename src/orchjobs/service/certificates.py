"""Certificates (GET /Certificates, GET /Certificates/{id}, POST /Certificates/Import) and what the last inventory of a
store found (GET /CertificateStores/{id}/Inventory).

Certificates are kept once by thumbprint, whether an orchestrator's inventory found them or someone imported them;
their locations are the store entries that hold them. No private key, metadata or revocation state is kept.
"""

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, and_

from orchjobs.domain.certificates import read_import
from orchjobs.errors import InvalidRequestError, InvalidSortFieldError, NotFoundError
from orchjobs.service.listing import PageRequest, condition
from orchjobs.store import certificates as store
from orchjobs.store import listing
from orchjobs.store.certificates import CERTIFICATES, CERTIFICATES_WITH_CONTENT
from orchjobs.store.engine import read_transaction, write_transaction
from orchjobs.store.rows import Record
from orchjobs.store.tables import certificate

__all__ = [
    "CERTIFICATES",
    "MAX_LOCATIONS",
    "CertificatePage",
    "ImportRequest",
    "ImportResult",
    "Location",
    "LocationCount",
    "get_certificate",
    "import_certificate",
    "list_certificates",
    "store_inventory",
]

# The most Locations one certificate is answered with (a root CA's certificate may sit in every store);
# LocationsCount counts them all.
MAX_LOCATIONS = 1000
# The only sort field of a store's inventory: its aliases, walked along the entries' primary key.
INVENTORY_SORT_FIELDS = frozenset({"name", "alias"})


@dataclass(frozen=True)
class Location:
    store_machine: str
    store_path: str
    store_type: int
    alias: str
    store_id: uuid.UUID


@dataclass(frozen=True)
class LocationCount:
    type: str
    count: int


@dataclass(frozen=True)
class CertificatePage:
    """Certificates (rows of CERTIFICATES, or CERTIFICATES_WITH_CONTENT) and, when asked for, where each is."""

    rows: Sequence[Record]
    locations: Mapping[int, list[Location]] | None = None
    counts: Mapping[int, list[LocationCount]] | None = None


@dataclass(frozen=True)
class ImportRequest:
    """What POST /Certificates/Import asks for; stores are not reached from here (see import_certificate)."""

    certificate: str
    password: str | None = None
    store_ids: Sequence[uuid.UUID] = field(default_factory=tuple)
    store_types: Sequence[object] = field(default_factory=tuple)
    metadata: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportResult:
    certificate_id: int
    thumbprint: str
    created: bool


def list_certificates(
    engine: Engine,
    request: PageRequest,
    *,
    include_expired: bool,
    include_locations: bool,
    with_content: bool,
    now: datetime,
    max_query_length: int,
) -> CertificatePage:
    """A page of certificates, filtered by the request's query (and, unless `include_expired`, to those not expired
    at `now`), sorted (Id ascending by default); QuerySyntaxError or InvalidSortFieldError for a bad request."""
    resource = CERTIFICATES_WITH_CONTENT if with_content else CERTIFICATES
    where = condition(resource, request.query, now=now, max_length=max_query_length)
    if not include_expired:
        unexpired = certificate.c.not_after >= now
        where = unexpired if where is None else and_(where, unexpired)
    order = resource.order_by(request.sort_field, descending=request.descending)
    offset = (request.page - 1) * request.limit
    with read_transaction(engine) as conn:
        rows = listing.list_page(conn, resource, where=where, order_by=order, limit=request.limit, offset=offset)
        return _with_locations(conn, rows, include_locations)


def get_certificate(engine: Engine, *, certificate_id: int, include_locations: bool) -> CertificatePage:
    """One certificate (with its content), expired or not; NotFoundError for an unknown id."""
    with read_transaction(engine) as conn:
        row = listing.get_row(conn, CERTIFICATES_WITH_CONTENT, key=certificate_id)
        if row is None:
            raise NotFoundError(f"Certificate {certificate_id} was not found.")
        return _with_locations(conn, [row], include_locations)


def import_certificate(engine: Engine, request: ImportRequest, *, now: datetime) -> ImportResult:
    """Keep the certificate (once by thumbprint: importing it again changes nothing). Refused with a 400: stores
    (deploying goes through POST /CertificateStores/Certificates/Add), metadata (not kept), and anything that is
    not a certificate, a PEM text or a PKCS#12 file the Password opens."""
    if request.store_ids or request.store_types:
        raise InvalidRequestError(
            "Import keeps the certificate only; it does not deploy it to stores. Leave StoreIds and StoreTypes empty, "
            "then add the certificate to stores with POST /CertificateStores/Certificates/Add, which takes the "
            'certificate\'s Id (GET /Certificates?pq.queryString=Thumbprint -eq "<Thumbprint>").'
        )
    if request.metadata:
        raise InvalidRequestError("Certificate metadata is not kept here; leave Metadata empty.")
    facts = read_import(request.certificate, request.password)
    with write_transaction(engine) as conn:
        certificate_id, created = store.keep_certificate(conn, facts, now=now)
    return ImportResult(certificate_id=certificate_id, thumbprint=facts.thumbprint, created=created)


def store_inventory(engine: Engine, *, store_id: uuid.UUID, request: PageRequest) -> Sequence[Record]:
    """A page of what the last inventory of the store found, one row per alias with its certificate, by alias
    (ascending unless asked otherwise); NotFoundError for an unknown store."""
    if request.query:
        raise InvalidRequestError("A store's inventory takes no query; page it with pageReturned and returnLimit.")
    if request.sort_field is not None and request.sort_field.lower() not in INVENTORY_SORT_FIELDS:
        raise InvalidSortFieldError(request.sort_field)
    with read_transaction(engine) as conn:
        rows = store.inventory_page(
            conn,
            store_id=store_id,
            descending=bool(request.descending),
            limit=request.limit,
            offset=(request.page - 1) * request.limit,
        )
        # An empty page is the one case that needs to know whether the store exists.
        if not rows and not store.store_exists(conn, store_id=store_id):
            raise NotFoundError(f"Certificate store {store_id} was not found.")
        return rows


def _with_locations(conn: Connection, rows: Sequence[Record], include_locations: bool) -> CertificatePage:
    if not include_locations or not rows:
        return CertificatePage(rows=rows, locations={} if include_locations else None, counts=None)
    ids = [row.id for row in rows]
    locations: dict[int, list[Location]] = defaultdict(list)
    for found in store.locations(conn, ids, per_certificate=MAX_LOCATIONS):
        locations[found.certificate_id].append(
            Location(found.store_machine, found.store_path, found.store_type, found.alias, found.store_id)
        )
    counts: dict[int, list[LocationCount]] = defaultdict(list)
    for found in store.location_counts(conn, ids):
        counts[found.certificate_id].append(LocationCount(found.type, int(found.entries)))
    return CertificatePage(rows=rows, locations=locations, counts=counts)
