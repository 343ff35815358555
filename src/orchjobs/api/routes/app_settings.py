"""/KeyfactorAPI/AppSetting (v11 shape): read and change application settings."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, paths, wire
from orchjobs.api import request_docs as docs
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.schemas import AppSettingResponse
from orchjobs.errors import InvalidRequestError
from orchjobs.service import app_settings
from orchjobs.service.app_settings import MISSING, SettingEntry

router = APIRouter(prefix=paths.APP_SETTINGS, tags=["AppSetting"])
_BULK_EXPECTED = 'a JSON array of settings, e.g. [{"Id": 1, "Value": "7"}]'
_BULK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"Id": {"type": "integer"}, "Value": {"type": "string"}},
                        "required": ["Id", "Value"],
                    },
                }
            }
        },
    }
}


@router.get("", response_model=list[AppSettingResponse])
def list_settings(context: ContextDep, _user: UserDep) -> Response:
    """All application settings."""
    return wire.json_response([app_setting_item(row) for row in app_settings.list_app_settings(context.engine)])


@router.get("/{key}", response_model=AppSettingResponse)
def get_setting(key: str, context: ContextDep, _user: UserDep) -> Response:
    """One setting, by Id or ShortName."""
    return wire.json_response(app_setting_item(app_settings.get_app_setting(context.engine, key=key)))


@router.put("/{key}/Set", response_model=AppSettingResponse, openapi_extra=docs.json_body(docs.APP_SETTING_VALUE))
async def set_setting(key: str, request: Request, context: ContextDep, user: UserDep) -> Response:
    """Change one setting (administrators only): body `{"Value": "..."}`, checked by the setting's type and range."""
    payload = await body.read_object(request)
    if "value" not in payload:
        raise InvalidRequestError("Value is required.")
    row = await run_in_threadpool(
        app_settings.set_app_setting,
        context.engine,
        key=key,
        value=payload["value"],
        actor=user.name,
        now=context.clock(),
    )
    return wire.json_response(app_setting_item(row))


@router.put("", response_model=list[AppSettingResponse], openapi_extra=_BULK_BODY)
async def set_settings(request: Request, context: ContextDep, user: UserDep) -> Response:
    """Change several settings at once, all or nothing: body `[{"Id": 1, "Value": "7"}, ...]`. Answers the settings
    named, as they now are; a 400 with a FailedOperation per bad entry changes nothing."""
    items = await body.read_array(request, expected=_BULK_EXPECTED)
    if len(items) > app_settings.MAX_BULK_SETTINGS:
        raise InvalidRequestError(f"The request body may name at most {app_settings.MAX_BULK_SETTINGS} settings.")
    rows = await run_in_threadpool(
        app_settings.set_app_settings,
        context.engine,
        [_entry(item) for item in items],
        actor=user.name,
        now=context.clock(),
    )
    return wire.json_response([app_setting_item(row) for row in rows])


def _entry(item: Any) -> SettingEntry:
    """An entry's Id and Value, keys in any case; what is not an object has neither."""
    if not isinstance(item, dict):
        return SettingEntry(setting_id=item, value=MISSING)
    fields = {key.lower(): value for key, value in item.items()}
    return SettingEntry(setting_id=fields.get("id"), value=fields.get("value", MISSING))


def app_setting_item(row: Any) -> dict[str, Any]:
    return {
        "Id": row.id,
        "DisplayName": row.display_name,
        "ShortName": row.short_name,
        "Description": row.description,
        "Value": row.value,
        "ValueType": row.value_type,
    }
