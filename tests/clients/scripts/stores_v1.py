"""Certificate stores with PyPI `keyfactor-v-1-client` 1.0.3 (Command v10 spec), which has no call to create, list or
read stores: it schedules inventories and reads a store's inventory.

    python stores_v1.py <server_url> schedule --ids GUID … --minutes N
    python stores_v1.py <server_url> inventory --id GUID [--page N] [--limit N]
    python stores_v1.py <server_url> create|stores|store …   (answers {"unsupported": true})

Prints one JSON document; a client exception propagates (traceback on stderr, exit status 1).
"""

import argparse
from typing import Any

from _common import emit, response_summary
from _stores import argument_parser, describe_inventory_item, listing
from keyfactor_v1 import REQUESTED_WITH, make_client, or_unset
from keyfactor_v_1_client import AuthenticatedClient
from keyfactor_v_1_client.api.certificate_store import (
    certificate_store_get_certificate_store_inventory,
    certificate_store_schedule,
)
from keyfactor_v_1_client.models.keyfactor_common_scheduling_keyfactor_schedule import (
    KeyfactorCommonSchedulingKeyfactorSchedule as Schedule,
)
from keyfactor_v_1_client.models.keyfactor_common_scheduling_models_interval_model import (
    KeyfactorCommonSchedulingModelsIntervalModel as Interval,
)
from keyfactor_v_1_client.models.models_cert_stores_schedule import ModelsCertStoresSchedule


def schedule(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    body = ModelsCertStoresSchedule(store_ids=args.ids, schedule=Schedule(interval=Interval(minutes=args.minutes)))
    response = certificate_store_schedule.sync_detailed(
        client=client, json_body=body, x_keyfactor_requested_with=REQUESTED_WITH
    )
    return {**response_summary(response), "sent": body.to_dict()}


def inventory(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = certificate_store_get_certificate_store_inventory.sync_detailed(
        args.id,
        client=client,
        query_page_returned=or_unset(args.page),
        query_return_limit=or_unset(args.limit),
        x_keyfactor_requested_with=REQUESTED_WITH,
    )
    return listing(response, describe_inventory_item)


def unsupported(_client: AuthenticatedClient, _args: argparse.Namespace) -> dict[str, Any]:
    return {"unsupported": True}


COMMANDS = {
    "create": unsupported,
    "schedule": schedule,
    "stores": unsupported,
    "store": unsupported,
    "inventory": inventory,
}


def main() -> None:
    args = argument_parser(__doc__.splitlines()[0]).parse_args()
    emit(COMMANDS[args.command](make_client(args.server_url), args))


if __name__ == "__main__":
    main()
