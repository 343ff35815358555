"""Reads and writes of certificates (GET /Certificates, POST /Certificates/Import) and of what the last inventory of a
store found (GET /CertificateStores/{id}/Inventory). Functions take a connection and never commit.

Certificates are kept once by thumbprint (upper-case hex, unique); a store's entries point at them. A certificate's
locations are the store entries that point at it.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from orchjobs.domain.certificates import CertificateFacts
from orchjobs.query.fields import CERTIFICATE_FIELDS
from orchjobs.store.dialects import conflict_insert
from orchjobs.store.listing import ListResource
from orchjobs.store.rows import Record, chunks
from orchjobs.store.tables import certificate, certificate_store, certificate_store_entry, certificate_store_type

_FACTS = (
    certificate.c.id,
    certificate.c.thumbprint,
    certificate.c.serial_number,
    certificate.c.issued_dn,
    certificate.c.issued_cn,
    certificate.c.issuer_dn,
    certificate.c.not_before,
    certificate.c.not_after,
    certificate.c.signing_algorithm,
    certificate.c.key_type,
    certificate.c.key_size,
    certificate.c.import_date,
)
# A page without the certificates' content (a list answers it only when asked: `verbose`), and one with it.
CERTIFICATES = ListResource(table=certificate, fields=CERTIFICATE_FIELDS, columns=_FACTS, default_sort="Id")
CERTIFICATES_WITH_CONTENT = ListResource(
    table=certificate, fields=CERTIFICATE_FIELDS, columns=(*_FACTS, certificate.c.content), default_sort="Id"
)


def keep_certificate(conn: Connection, facts: CertificateFacts, *, now: datetime) -> tuple[int, bool]:
    """The id of the certificate with this thumbprint, kept now unless it already was; and whether it was new. Two
    imports of one certificate at once keep it once (ON CONFLICT DO NOTHING), and only one of them says new."""
    values = {
        "thumbprint": facts.thumbprint,
        "serial_number": facts.serial_number,
        "issued_dn": facts.issued_dn,
        "issued_cn": facts.issued_cn,
        "issuer_dn": facts.issuer_dn,
        "not_before": facts.not_before,
        "not_after": facts.not_after,
        "signing_algorithm": facts.signing_algorithm,
        "key_type": int(facts.key_type),
        "key_size": facts.key_size,
        "import_date": now,
        "content": facts.content,
    }
    insert = conflict_insert(conn, certificate).values(values)
    stmt = insert.on_conflict_do_nothing(index_elements=[certificate.c.thumbprint]).returning(certificate.c.id)
    inserted = conn.execute(stmt).scalar()
    if inserted is not None:
        return int(inserted), True
    found = conn.execute(select(certificate.c.id).where(certificate.c.thumbprint == facts.thumbprint)).scalar_one()
    return int(found), False


def locations(conn: Connection, certificate_ids: Sequence[int], *, per_certificate: int) -> list[Record]:
    """The store entries holding these certificates, at most `per_certificate` of each (by machine, path and alias):
    rows of certificate_id, store_machine, store_path, store_type, alias, store_id. One statement per 500 ids."""
    ranked = (
        select(
            certificate_store_entry.c.certificate_id,
            certificate_store.c.client_machine.label("store_machine"),
            certificate_store.c.store_path,
            certificate_store.c.store_type_id.label("store_type"),
            certificate_store_entry.c.alias,
            certificate_store.c.id.label("store_id"),
            func.row_number()
            .over(
                partition_by=certificate_store_entry.c.certificate_id,
                order_by=(
                    certificate_store.c.client_machine,
                    certificate_store.c.store_path,
                    certificate_store_entry.c.alias,
                    certificate_store.c.id,
                ),
            )
            .label("position"),
        )
        .join(certificate_store, certificate_store.c.id == certificate_store_entry.c.store_id)
        .subquery()
    )
    found: list[Record] = []
    for chunk in chunks(list(certificate_ids)):
        stmt = (
            select(*(column for column in ranked.c if column.name != "position"))
            .where(ranked.c.certificate_id.in_(chunk), ranked.c.position <= per_certificate)
            .order_by(ranked.c.certificate_id, ranked.c.position)
        )
        found.extend(conn.execute(stmt).all())
    return found


def location_counts(conn: Connection, certificate_ids: Sequence[int]) -> list[Record]:
    """How many store entries of each store type (its short name) hold each of these certificates: rows of
    certificate_id, type, entries."""
    found: list[Record] = []
    for chunk in chunks(list(certificate_ids)):
        stmt = (
            select(
                certificate_store_entry.c.certificate_id,
                certificate_store_type.c.short_name.label("type"),
                func.count().label("entries"),
            )
            .join(certificate_store, certificate_store.c.id == certificate_store_entry.c.store_id)
            .join(certificate_store_type, certificate_store_type.c.id == certificate_store.c.store_type_id)
            .where(certificate_store_entry.c.certificate_id.in_(chunk))
            .group_by(certificate_store_entry.c.certificate_id, certificate_store_type.c.short_name)
            .order_by(certificate_store_entry.c.certificate_id, certificate_store_type.c.short_name)
        )
        found.extend(conn.execute(stmt).all())
    return found


def inventory_page(
    conn: Connection, *, store_id: uuid.UUID, descending: bool, limit: int, offset: int
) -> Sequence[Record]:
    """A page of a store's entries by alias, each with its certificate, in one statement: the page of entries is
    chosen first, walking their primary key (store_id, alias), and only its rows are joined to `certificate` by its
    key, so that the entries an OFFSET skips are never joined, however many the store holds."""
    entry = certificate_store_entry
    order = entry.c.alias.desc() if descending else entry.c.alias.asc()
    page = (
        select(entry.c.alias, entry.c.certificate_id, entry.c.private_key_entry)
        .where(entry.c.store_id == store_id)
        .order_by(order)
        .limit(limit)
        .offset(offset)
        .subquery("page")
    )
    columns: tuple[Any, ...] = (page.c.alias, page.c.private_key_entry, *_FACTS)
    stmt = (
        select(*columns)
        .select_from(page.join(certificate, certificate.c.id == page.c.certificate_id))
        .order_by(page.c.alias.desc() if descending else page.c.alias.asc())
    )
    return conn.execute(stmt).all()


def store_exists(conn: Connection, *, store_id: uuid.UUID) -> bool:
    return conn.execute(select(certificate_store.c.id).where(certificate_store.c.id == store_id)).first() is not None
