"""/KeyfactorAPI/AppSetting (v11 shape): read and change application settings."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orchjobs.api import body, paths, wire
from orchjobs.api.auth import ContextDep, UserDep
from orchjobs.api.schemas import AppSettingResponse
from orchjobs.errors import InvalidRequestError
from orchjobs.service import app_settings

router = APIRouter(prefix=paths.APP_SETTINGS, tags=["AppSetting"])


@router.get("", response_model=list[AppSettingResponse])
def list_settings(context: ContextDep, _user: UserDep) -> Response:
    """All application settings."""
    return wire.json_response([app_setting_item(row) for row in app_settings.list_app_settings(context.engine)])


@router.get("/{key}", response_model=AppSettingResponse)
def get_setting(key: str, context: ContextDep, _user: UserDep) -> Response:
    """One setting, by Id or ShortName."""
    return wire.json_response(app_setting_item(app_settings.get_app_setting(context.engine, key=key)))


@router.put("/{key}/Set", response_model=AppSettingResponse)
async def set_setting(key: str, request: Request, context: ContextDep, _user: UserDep) -> Response:
    """Change one setting (administrators only): body `{"Value": "..."}`."""
    payload = await body.read_object(request)
    if "value" not in payload:
        raise InvalidRequestError("Value is required.")
    row = await run_in_threadpool(app_settings.set_app_setting, context.engine, key=key, value=payload["value"])
    return wire.json_response(app_setting_item(row))


def app_setting_item(row: Any) -> dict[str, Any]:
    return {
        "Id": row.id,
        "DisplayName": row.display_name,
        "ShortName": row.short_name,
        "Description": row.description,
        "Value": row.value,
        "ValueType": row.value_type,
    }
