"""Certificate stores with PyPI `keyfactor-command-sdk` 11.0.0a1 (Command 11 spec).

    python stores_v11.py <server_url> create --agent-id GUID --client-machine M --storepath P --type N
                                             [--properties JSON] [--minutes N]
    python stores_v11.py <server_url> schedule --ids GUID … --minutes N
    python stores_v11.py <server_url> stores [--query Q] [--page N] [--limit N]
    python stores_v11.py <server_url> store --id GUID
    python stores_v11.py <server_url> inventory --id GUID [--page N] [--limit N]

Prints one JSON document; a client exception propagates (traceback on stderr, exit status 1).
"""

import argparse
from typing import Any

from _common import emit, response_summary
from _stores import argument_parser, describe_inventory_item, describe_store, listing
from command_v11 import make_client, or_unset
from command_v11_client.api.certificate_store import (
    get_certificate_stores,
    get_certificate_stores_id,
    get_certificate_stores_id_inventory,
    post_certificate_stores,
    post_certificate_stores_schedule,
)
from command_v11_client.client import AuthenticatedClient
from command_v11_client.models.csscms_data_model_models_cert_stores_schedule import (
    CSSCMSDataModelModelsCertStoresSchedule as StoresSchedule,
)
from command_v11_client.models.csscms_data_model_models_certificate_stores_certificate_store_create_request import (  # noqa: E501
    CSSCMSDataModelModelsCertificateStoresCertificateStoreCreateRequest as CreateRequest,
)
from command_v11_client.models.keyfactor_common_scheduling_keyfactor_schedule import (
    KeyfactorCommonSchedulingKeyfactorSchedule as Schedule,
)
from command_v11_client.models.keyfactor_common_scheduling_models_interval_model import (
    KeyfactorCommonSchedulingModelsIntervalModel as Interval,
)
from command_v11_client.types import UNSET


def interval(minutes: int | None) -> Any:
    return UNSET if minutes is None else Schedule(interval=Interval(minutes=minutes))


def create(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    body = CreateRequest(
        client_machine=args.client_machine,
        storepath=args.storepath,
        cert_store_type=args.type,
        agent_id=args.agent_id,
        properties=or_unset(args.properties),
        inventory_schedule=interval(args.minutes),
    )
    response = post_certificate_stores.sync_detailed(client=client, json_body=body)
    return {"status_code": int(response.status_code), "store": describe_store(response.parsed), "sent": body.to_dict()}


def schedule(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    body = StoresSchedule(store_ids=args.ids, schedule=interval(args.minutes))
    response = post_certificate_stores_schedule.sync_detailed(client=client, json_body=body)
    return {**response_summary(response), "sent": body.to_dict()}


def stores(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = get_certificate_stores.sync_detailed(
        client=client,
        query_string=or_unset(args.query),
        page_returned=or_unset(args.page),
        return_limit=or_unset(args.limit),
    )
    return listing(response, describe_store)


def store(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = get_certificate_stores_id.sync_detailed(args.id, client=client)
    return {"status_code": int(response.status_code), "store": describe_store(response.parsed)}


def inventory(client: AuthenticatedClient, args: argparse.Namespace) -> dict[str, Any]:
    response = get_certificate_stores_id_inventory.sync_detailed(
        args.id, client=client, page_returned=or_unset(args.page), return_limit=or_unset(args.limit)
    )
    return listing(response, describe_inventory_item)


COMMANDS = {"create": create, "schedule": schedule, "stores": stores, "store": store, "inventory": inventory}


def main() -> None:
    args = argument_parser(__doc__.splitlines()[0]).parse_args()
    with make_client(args.server_url) as client:
        emit(COMMANDS[args.command](client, args))


if __name__ == "__main__":
    main()
