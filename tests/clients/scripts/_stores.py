"""What the certificate-store scripts share: their command line and how a parsed store and inventory are reported.
Like `_common`, this runs in the clients' own virtualenv and imports nothing from orchjobs or tests."""

import argparse
from typing import Any

from _common import describe, is_unset, kind_of, plain


def argument_parser(description: str) -> argparse.ArgumentParser:
    """`<script> <server_url> create|schedule|stores|store|inventory …`, the same for both clients (a client without
    a call answers {"unsupported": true})."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("server_url", help="e.g. http://127.0.0.1:8080 (without /KeyfactorAPI)")
    commands = parser.add_subparsers(dest="command", required=True)

    create = commands.add_parser("create", help="POST /CertificateStores")
    create.add_argument("--agent-id", required=True)
    create.add_argument("--client-machine", required=True)
    create.add_argument("--storepath", required=True)
    create.add_argument("--type", type=int, required=True, help="CertStoreType")
    create.add_argument("--properties", help="a JSON object, as text")
    create.add_argument("--minutes", type=int, help="an Interval inventory schedule")

    schedule = commands.add_parser("schedule", help="POST /CertificateStores/Schedule")
    schedule.add_argument("--ids", nargs="+", required=True, help="store GUIDs")
    schedule.add_argument("--minutes", type=int, required=True)

    stores = commands.add_parser("stores", help="GET /CertificateStores")
    stores.add_argument("--query")
    stores.add_argument("--page", type=int)
    stores.add_argument("--limit", type=int)

    store = commands.add_parser("store", help="GET /CertificateStores/{id}")
    store.add_argument("--id", required=True)

    inventory = commands.add_parser("inventory", help="GET /CertificateStores/{id}/Inventory")
    inventory.add_argument("--id", required=True)
    inventory.add_argument("--page", type=int)
    inventory.add_argument("--limit", type=int)
    return parser


def describe_store(item: Any) -> dict[str, Any]:
    """A parsed CertificateStore: its attributes, the member its inventory schedule sets, keys it did not know."""
    described = describe(item)
    schedule = item.inventory_schedule
    if is_unset(schedule) or schedule is None:
        described["schedule_detail"] = {"kind": kind_of(schedule)}
    else:
        members = {name: plain(getattr(schedule, name)) for name in ("immediate", "interval", "daily", "exactly_once")}
        described["schedule_detail"] = {name: value for name, value in members.items() if value is not None}
    extra = getattr(item, "additional_properties", None)
    described["additional_keys"] = sorted(extra) if isinstance(extra, dict) else None
    return described


def describe_inventory_item(item: Any) -> dict[str, Any]:
    """A parsed CertificateStoreInventory: its attributes and each certificate's."""
    described = describe(item)
    certificates = item.certificates
    described["certificate_detail"] = (
        [describe(certificate) for certificate in certificates] if isinstance(certificates, list) else []
    )
    return described


def listing(response: Any, describe_item: Any) -> dict[str, Any]:
    items = response.parsed
    return {
        "status_code": int(response.status_code),
        "items": None if not isinstance(items, list) else [describe_item(item) for item in items],
    }
