"""Wire shapes of the Security API (/KeyfactorAPI/Security): Command's v1 models (x-keyfactor-api-version absent or 1,
what keyfactor-go-client and kfutil read) and, for roles, its v2 model (x-keyfactor-api-version: 2)."""

from pydantic import BaseModel, Field

from orchjobs.api.schemas import Wire


class SecurityRoleIdentityResponse(Wire):
    """An identity holding a role, as a v1 role lists it."""

    Id: int
    AccountName: str
    IdentityType: str = Field(description="User or Group.")


class SecurityRoleResponse(Wire):
    """v1: Models.Security.SecurityRoles.SecurityRoleResponse. Permissions are `Area:Permission` strings: every
    catalogued permission the role grants (a role holding `/` lists them all)."""

    Id: int
    Name: str
    Description: str
    Enabled: bool
    Immutable: bool = Field(description="The built-in roles: they cannot be changed or deleted.")
    Valid: bool
    Private: bool
    Identities: list[SecurityRoleIdentityResponse]
    Permissions: list[str]


class SecurityRoleClaimResponse(Wire):
    ClaimType: int = Field(description="0 a user, 1 a group.")
    ClaimValue: str = Field(description="The identity's account name.")


class SecurityRoleV2Response(Wire):
    """v2 (Command 11+): Permissions are the v2 strings the role holds; Claims its identities."""

    Id: int
    Name: str
    Description: str
    Immutable: bool
    Permissions: list[str]
    Claims: list[SecurityRoleClaimResponse]


class RoleIdentityResponse(Wire):
    """KeyfactorApi.Models.SecurityRoles.RoleIdentitiesResponse: an identity holding the role; Name is its account
    name."""

    Id: int
    Name: str


class AreaPermissionResponse(Wire):
    Type: str = Field(description="Global: orchjobs has no collection or container permissions.")
    Area: str
    Permission: str


class GlobalPermissionResponse(Wire):
    Area: str
    Permission: str


class GlobalPermissionRequest(BaseModel):
    """Or a permission string in either spelling."""

    Area: str
    Permission: str


class SecurityRoleRequest(BaseModel):
    """SecurityRoleCreationRequest / SecurityRoleUpdateRequest (v1) and the v2 request; keys in any case."""

    Id: int | None = Field(None, description="PUT only: the role to change.")
    Name: str = Field(description="Unique in any case, at most 255 characters.")
    Description: str = Field(description="At most 4000 characters.")
    Enabled: bool | None = Field(None, description="A disabled role grants nothing. Default true.")
    Private: bool | None = None
    Permissions: list[str] | None = Field(
        None, description="At most 200, in either spelling: /agents/management/read/ or AgentManagement:Read."
    )
    Identities: list[dict[str, str | None]] | None = Field(
        None, description="v1: [{AccountName, SID}]; an account that is no identity yet becomes one (a User)."
    )
    Claims: list[dict[str, str | int]] | None = Field(
        None, description="v2: [{ClaimType: 0 user or 1 group, ClaimValue: account name}]."
    )


class SecurityRoleCopyRequest(BaseModel):
    Name: str
    Description: str | None = Field(None, description="The original's unless given.")


class RoleIdentitiesRequest(BaseModel):
    """Or a bare JSON array of identity ids."""

    Ids: list[int]


class SecurityRoleInformation(Wire):
    Id: int
    Name: str
    Description: str


class SecurityIdentityResponse(Wire):
    """Models.Security.Identities.SecurityIdentityResponse; Roles are the roles it holds."""

    Id: int
    AccountName: str
    IdentityType: str = Field(description="User or Group.")
    Roles: list[SecurityRoleInformation]
    Valid: bool


class SecurityIdentityRequest(BaseModel):
    AccountName: str = Field(description="At most 255 characters; unique in any case.")
    IdentityType: str | None = Field(None, description="Extension: User (the default) or Group.")


class PermissionRolesPairResponse(Wire):
    Permission: str = Field(description="Area:Permission in v1, the v2 string in v2.")
    GrantedByRoles: list[str]


class SecurityIdentityPermissionsResponse(Wire):
    """Models.Security.Identities.SecurityIdentityPermissionsResponse."""

    Identity: str
    SecuredAreaPermissions: list[PermissionRolesPairResponse]
    CollectionPermissions: list[PermissionRolesPairResponse]
    ContainerPermissions: list[PermissionRolesPairResponse]


class SecurityIdentityLookupResponse(Wire):
    Valid: bool = Field(description="Whether the name is an identity's or a user's here.")


class SecurityMyResponse(Wire):
    """Command's SecurityMyResponse (Roles, GlobalPermissions), plus additive extensions."""

    Roles: list[str] = Field(description="The enabled roles the caller holds.")
    GlobalPermissions: list[GlobalPermissionResponse]
    AccountName: str = Field(description="Extension: who the caller is.")
    Permissions: list[str] = Field(description="Extension: every permission the caller holds, as v2 strings.")
