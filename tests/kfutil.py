"""kfutil, replayed request by request: the HTTP requests kfutil and Keyfactor's Go client send for the certificate
store commands, and the Go structs they decode each answer into (checked with tests/gojson.py).

Sources, read at these commits: kfutil bca04d8101f8fd1f45f3d873e65d44b90ac89329 (cmd/stores.go, storeTypes.go,
storeTypes_get.go, storesBulkOperations.go, inventory.go, containers.go); keyfactor-go-client tag v3.1.0
(v3/api/client.go, store.go, store_models.go, store_type.go, store_type_models.go, store_container.go,
store_container_models.go, certificate.go, certificate_models.go) — kfutil's go.mod asks for v3.2.0-rc.5, which
was not at hand; keyfactor-auth-client-go v1.3.0 (auth_providers/auth_basic.go, auth_core.go), which builds the
Basic credential `DOMAIN\\user:password` and probes GET /Status/Endpoints (three times) before every command; gabs
v1.4.0, whose `Container.String()` of a missing path is "{}" (kfutil's CSV import relies on it, see `csv_store_body`).

What the Go client does on the wire (client.go `sendRequest`): https whatever the host says; the path
`/KeyfactorAPI/<endpoint>` cleaned by path.Join (so `CertificateStores/` loses its slash); the query as url.Values
encodes it (keys sorted, QueryEscape, then every "+" made "%20"); the headers Content-Type and Accept
application/json, x-keyfactor-api-version 1, x-keyfactor-requested-with APIClient, Authorization Basic; and a body
that is json.Marshal of the payload, so `null` on GETs and DELETEs. 200 and 204 succeed; any other status is an
error whose text is the answer's Message.
"""

import base64
import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from tests import gojson
from tests.gojson import Struct

API_PATH = "KeyfactorAPI"
MAX_PAGES = 100  # the Go client pages until an empty page; a server that ignores the page number would loop forever

# --- keyfactor-go-client v3.1.0, v3/api/store_models.go -----------------------------------------------------------

# store_models.go: InventorySchedule, InventoryInterval, InventoryDaily, InventoryOnce
Struct("InventoryInterval", {"Minutes": "int"})
Struct("InventoryDaily", {"Time": "string"})
Struct("InventoryOnce", {"Time": "string"})
Struct(
    "InventorySchedule",
    {
        "Immediate,omitempty": "*bool",
        "Interval,omitempty": "*InventoryInterval",
        "Daily,omitempty": "*InventoryDaily",
        "ExactlyOnce,omitempty": "*InventoryOnce",
    },
)
# store_models.go: ReEnrollmnentConfig (sic)
Struct(
    "ReEnrollmnentConfig",
    {"Data": "bool", "AgentId": "string", "Message": "string", "JobProperties": "string", "CustomAliasAllowed": "int"},
)
# store_models.go: StorePasswordConfig
Struct(
    "StorePasswordConfig",
    {"SecretValue": "*string", "SecretTypeGuid,omitempty": "*string", "InstanceId,omitempty": "*string"},
)
# store_models.go: CreateStoreFctArgs (Properties map[string]interface{} `json:"-"` left out)
CREATE_STORE_ARGS = Struct(
    "CreateStoreFctArgs",
    {
        "ContainerId,omitempty": "*int",
        "ClientMachine": "string",
        "StorePath": "string",
        "CertStoreInventoryJobId,omitempty": "*string",
        "CertStoreType": "int",
        "Approved,omitempty": "*bool",
        "CreateIfMissing,omitempty": "*bool",
        "Properties,omitempty": "string",
        "AgentId": "string",
        "AgentAssigned,omitempty": "*bool",
        "ContainerName,omitempty": "*string",
        "InventorySchedule,omitempty": "*InventorySchedule",
        "ReEnrollmentStatus,omitempty": "*ReEnrollmnentConfig",
        "SetNewPasswordAllowed,omitempty": "*bool",
        "Password": "*StorePasswordConfig",
    },
)
# store_models.go: GetCertificateStoreResponse (Properties map `json:"-"` left out)
GET_STORE_RESPONSE = Struct(
    "GetCertificateStoreResponse",
    {
        "Id,omitempty": "string",
        "ContainerId,omitempty": "int",
        "ClientMachine,omitempty": "string",
        "Storepath,omitempty": "string",
        "CertStoreInventoryJobId,omitempty": "string",
        "CertStoreType,omitempty": "int",
        "Approved,omitempty": "bool",
        "CreateIfMissing,omitempty": "bool",
        "Properties,omitempty": "string",
        "AgentId,omitempty": "string",
        "AgentAssigned,omitempty": "bool",
        "ContainerName,omitempty": "string",
        "InventorySchedule": "InventorySchedule",
        "ReenrollmentStatus,omitempty": "ReEnrollmnentConfig",
        "SetNewPasswordAllowed,omitempty": "bool",
        "Password,omitempty": "StorePasswordConfig",
        "DisplayName,omitempty": "string",
    },
)
# store_models.go: CreateStoreResponse (Properties map `json:"-"` left out)
CREATE_STORE_RESPONSE = Struct(
    "CreateStoreResponse",
    {
        "Id": "string",
        "ContainerId": "int",
        "ClientMachine": "string",
        "Storepath": "string",
        "CertStoreInventoryJobId": "string",
        "CertStoreType": "int",
        "Approved": "bool",
        "CreateIfMissing": "bool",
        "Properties": "string",
        "AgentId": "string",
        "AgentAssigned": "bool",
        "ContainerName": "string",
        "InventorySchedule": "InventorySchedule",
        "ReenrollmentStatus": "ReEnrollmnentConfig",
        "SetNewPasswordAllowed": "bool",
    },
)
# store_models.go: EntryPassword (Parameters is struct{} `json:"Parameters,omitempty"`)
Struct(
    "EntryPassword",
    {"SecretValue,omitempty": "string", "Parameters,omitempty": Struct("", {}), "Provider,omitempty": "int"},
)
# store_models.go: CertificateStore (the entries of Add and Remove requests)
Struct(
    "CertificateStore",
    {
        "CertificateStoreId,omitempty": "string",
        "Alias,omitempty": "string",
        "Overwrite,omitempty": "bool",
        "EntryPassword": "*EntryPassword",
        "PfxPassword,omitempty": "string",
        "IncludePrivateKey,omitempty": "bool",
        "JobFields,omitempty": "map[string]string",
    },
)
# store_models.go: AddCertificateToStore, RemoveCertificateFromStore
ADD_CERTIFICATE = Struct(
    "AddCertificateToStore",
    {
        "CertificateId": "int",
        "CertificateStores,omitempty": "*[]CertificateStore",
        "Schedule,omitempty": "*InventorySchedule",
        "CollectionId,omitempty": "int",
    },
)
REMOVE_CERTIFICATE = Struct(
    "RemoveCertificateFromStore",
    {
        "CertificateId": "int",
        "Alias": "string",
        "CertificateStores,omitempty": "*[]CertificateStore",
        "Schedule,omitempty": "*InventorySchedule",
        "CollectionId,omitempty": "int",
    },
)
# store_models.go: InventoriedCertificate, CertStoreInventory (Thumbprints, Serials, Ids `json:"-"` left out)
Struct(
    "InventoriedCertificate",
    {
        "Id": "int",
        "IssuedDN": "string",
        "SerialNumber": "string",
        "NotBefore": "string",
        "NotAfter": "string",
        "SigningAlgorithm": "string",
        "IssuerDN": "string",
        "Thumbprint": "string",
        "CertStoreInventoryItemId": "int",
        "Metadata": "map[string]interface{}",
    },
)
CERT_STORE_INVENTORY = Struct(
    "CertStoreInventory", {"Name,omitempty": "string", "Certificates,omitempty": "[]InventoriedCertificate"}
)

# --- keyfactor-go-client v3.1.0, v3/api/store_type_models.go ------------------------------------------------------

# store_type_models.go: StoreTypeSupportedOperations, StoreTypePasswordOptions
Struct(
    "StoreTypeSupportedOperations",
    {"Add": "bool", "Create": "bool", "Discovery": "bool", "Enrollment": "bool", "Remove": "bool"},
)
Struct("StoreTypePasswordOptions", {"EntrySupported": "bool", "StoreRequired": "bool", "Style": "string"})
# store_type_models.go: StoreTypePropertyDefinition
Struct(
    "StoreTypePropertyDefinition",
    {
        "StoreTypeId": "int",
        "Name": "string",
        "DisplayName": "string",
        "Type": "string",
        "DependsOn": "interface{}",
        "DefaultValue": "interface{}",
        "Required": "bool",
    },
)
# store_type_models.go: EntryParameter (RequiredWhen is an untagged anonymous struct)
Struct(
    "EntryParameter",
    {
        "StoreTypeId": "int",
        "Name": "string",
        "DisplayName": "string",
        "Type": "string",
        "RequiredWhen": Struct(
            "", {"HasPrivateKey": "bool", "OnAdd": "bool", "OnRemove": "bool", "OnReenrollment": "bool"}
        ),
        "DependsOn": "string",
        "DefaultValue": "string",
        "Options": "string",
    },
)
# store_type_models.go: CertificateStoreType (what every store-types command decodes, and what create posts)
STORE_TYPE = Struct(
    "CertificateStoreType",
    {
        "Name": "string",
        "ShortName": "string",
        "Capability,omitempty": "string",
        "StoreType": "int",
        "ImportType,omitempty": "int",
        "LocalStore,omitempty": "bool",
        "SupportedOperations,omitempty": "*StoreTypeSupportedOperations",
        "Properties,omitempty": "*[]StoreTypePropertyDefinition",
        "EntryParameters,omitempty": "*[]EntryParameter",
        "PasswordOptions,omitempty": "*StoreTypePasswordOptions",
        "StorePathType,omitempty": "string",
        "StorePathValue,omitempty": "string",
        "PrivateKeyAllowed,omitempty": "string",
        "JobProperties,omitempty": "*[]string",
        "ServerRequired,omitempty": "bool",
        "PowerShell,omitempty": "bool",
        "BlueprintAllowed,omitempty": "bool",
        "CustomAliasAllowed,omitempty": "string",
        "ServerRegistration,omitempty": "int",
        "InventoryEndpoint,omitempty": "string",
        "InventoryJobType,omitempty": "string",
        "ManagementJobType,omitempty": "string",
        "DiscoveryJobType,omitempty": "string",
        "EnrollmentJobType,omitempty": "string",
    },
)

# --- keyfactor-go-client v3.1.0, v3/api/store_container_models.go -------------------------------------------------

# store_container_models.go: CertStoreContainer (both `containers list` and `containers get` decode it)
CONTAINER = Struct(
    "CertStoreContainer",
    {
        "Id,omitempty": "*int",
        "Name": "string",
        "OverwriteSchedules": "bool",
        "Schedule": "string",
        "CertStoreType": "int",
    },
)

# --- keyfactor-go-client v3.1.0, v3/api/certificate_models.go -----------------------------------------------------

# certificate_models.go: CertificateLocations, LocationsCount, SSLLocations, CRLDistributionPoints,
# SubjectAltNameElements, DetailedKeyUsage
Struct(
    "CertificateLocations",
    {
        "StoreMachine,omitempty": "string",
        "StorePath,omitempty": "string",
        "StoreType,omitempty": "int",
        "Alias,omitempty": "string",
        "ChainLevel,omitempty": "int",
        "CertStoreId,omitempty": "string",
    },
)
Struct("LocationsCount", {"Type,omitempty": "string", "Count,omitempty": "int"})
Struct(
    "SSLLocations",
    {
        "StorePath,omitempty": "string",
        "AgentPool,omitempty": "string",
        "IPAddress,omitempty": "string",
        "Port,omitempty": "int",
        "NetworkName,omitempty": "string",
    },
)
Struct("CRLDistributionPoints", {"Id": "int", "URL": "string", "URLHash": "string"})
Struct("SubjectAltNameElements", {"Id": "int", "Value": "string", "Type": "int", "ValueHash": "string"})
Struct(
    "DetailedKeyUsage",
    {
        name + ",omitempty": "bool"
        for name in (
            "CrlSign",
            "DataEncipherment",
            "DecipherOnly",
            "DigitalSignature",
            "EncipherOnly",
            "KeyAgreement",
            "KeyCertSign",
            "KeyEncipherment",
            "NonRepudiation",
        )
    }
    | {"HexCode,omitempty": "string"},
)
# certificate_models.go: GetCertificateResponse (what ListCertificates decodes each certificate into)
CERTIFICATE = Struct(
    "GetCertificateResponse",
    {
        "Id": "int",
        "Thumbprint": "string",
        "SerialNumber": "string",
        "IssuedDN": "string",
        "IssuedCN": "string",
        "ImportDate": "string",
        "NotBefore": "string",
        "NotAfter": "string",
        "IssuerDN": "string",
        "PrincipalId": "string",
        "TemplateId": "int",
        "CertState": "int",
        "KeySizeInBits": "int",
        "KeyType": "int",
        "RequesterId": "int",
        "IssuedOU": "string",
        "KeyUsage": "int",
        "SigningAlgorithm": "string",
        "CertStateString": "string",
        "KeyTypeString": "string",
        "RevocationEffDate": "string",
        "RevocationReason": "int",
        "RevocationComment": "string",
        "CertificateAuthorityId": "int",
        "CertificateAuthorityName": "string",
        "TemplateName": "string",
        "ArchivedKey": "bool",
        "HasPrivateKey": "bool",
        "PrincipalName": "string",
        "CertRequestId": "int",
        "RequesterName": "string",
        "ContentBytes": "string",
        "ExtendedKeyUsages": "[]interface{}",
        "SubjectAltNameElements": "[]SubjectAltNameElements",
        "CRLDistributionPoints": "[]CRLDistributionPoints",
        "LocationsCount": "[]LocationsCount",
        "SSLLocations": "[]SSLLocations",
        "Locations": "[]CertificateLocations",
        "Metadata": "interface{}",
        "CertificateKeyId": "int",
        "CARowIndex": "int",
        "detailed_key_usage": "[]DetailedKeyUsage",
        "KeyRecoverable": "bool",
    },
)


class KfutilError(Exception):
    """What kfutil reports and exits with: an error status, or an answer encoding/json cannot decode."""


@dataclass
class GoClientCredentials:
    """kfutil with KEYFACTOR_AUTH_CLIENT_ID, KEYFACTOR_AUTH_CLIENT_SECRET and KEYFACTOR_AUTH_TOKEN_URL set (and
    optionally KEYFACTOR_AUTH_AUDIENCE, KEYFACTOR_AUTH_SCOPES): keyfactor-auth-client-go v1.3.0 auth_oauth.go hands them
    to golang.org/x/oauth2 v0.30.0 clientcredentials, whose token request (internal/token.go, AuthStyleAutoDetect) is
    a form POST of grant_type=client_credentials (plus scope and audience when set) with the id and secret in a Basic
    header (each QueryEscaped) and, if that is refused, once more with them in the body. The token is kept until it
    expires, and oauth2Transport sets `Authorization: Bearer <access_token>` on every request, the probe included."""

    token_url: str
    client_id: str
    client_secret: str
    audience: str = ""
    scopes: tuple[str, ...] = ()
    _token: str | None = None

    def token(self) -> str:
        if self._token is None:
            form = {"grant_type": "client_credentials"}
            if self.scopes:
                form["scope"] = " ".join(self.scopes)
            if self.audience:
                form["audience"] = self.audience
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            basic = base64.b64encode(f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}".encode())
            response = httpx.post(
                self.token_url, data=form, headers={**headers, "Authorization": "Basic " + basic.decode()}, timeout=30
            )
            if not response.is_success:
                credentials = {"client_id": self.client_id, "client_secret": self.client_secret}
                response = httpx.post(self.token_url, data={**form, **credentials}, headers=headers, timeout=30)
            if not response.is_success or not response.json().get("access_token"):
                raise KfutilError(f"failed to retrieve OAuth token: {response.status_code} {response.text[:200]}")
            self._token = str(response.json()["access_token"])
        return self._token


@dataclass
class Exchange:
    method: str
    url: str
    body: str
    status: int
    answer: str


@dataclass
class Kfutil:
    """kfutil with KEYFACTOR_HOSTNAME, KEYFACTOR_USERNAME, KEYFACTOR_PASSWORD and KEYFACTOR_DOMAIN set. `base_url`
    keeps its scheme here (the tests' server speaks http; kfutil itself would force https)."""

    base_url: str
    username: str
    password: str
    domain: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    oauth: GoClientCredentials | None = None  # set: kfutil authenticates with a client-credentials token instead

    # --- the transport: keyfactor-auth-client-go and client.go sendRequest ---------------------------------------

    def _authorization(self) -> str:
        if self.oauth is not None:
            return "Bearer " + self.oauth.token()
        credential = f"{self.domain}\\{self.username}" if self.domain else self.username
        return "Basic " + base64.b64encode(f"{credential}:{self.password}".encode()).decode()

    def _send(self, method: str, endpoint: str, *, query: list[tuple[str, str]] | None, body: str | None) -> Any:
        path = "/" + "/".join(part for part in f"{API_PATH}/{endpoint}".split("/") if part)  # path.Join
        url = self.base_url.rstrip("/") + quote(path, safe="/$&+,:;=@")
        if query is not None:
            values = dict(query)  # url.Values.Set: the last value of a key wins
            encoded = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(values.items()))
            url += "?" + encoded.replace("+", "%20")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "x-keyfactor-api-version": "1",
            "x-keyfactor-requested-with": "APIClient",
            "Authorization": self._authorization(),
            "User-Agent": "Go-http-client/1.1",
            "Accept-Encoding": "gzip",
        }
        content = None if body is None else body.encode()
        response = httpx.request(method, url, headers=headers, content=content, timeout=30)
        self.exchanges.append(Exchange(method, url, body or "", response.status_code, response.text))
        if response.status_code not in (200, 204):
            raise KfutilError(f"{method} {url}: {response.status_code} {_error_text(response)}")
        return response

    def request(
        self, method: str, endpoint: str, *, query: list[tuple[str, str]] | None = None, payload: Any = None
    ) -> httpx.Response:
        """One call of sendRequest; `payload` is the JSON text json.Marshal made (None: `null`)."""
        return self._send(method, endpoint, query=query, body="null" if payload is None else payload)  # type: ignore[no-any-return]

    def decoded(self, response: httpx.Response, go_type: Any) -> Any:
        """json.NewDecoder(resp.Body).Decode into `go_type`; KfutilError as kfutil would fail."""
        try:
            document = json.loads(response.text)
        except ValueError as exc:
            raise KfutilError(f"{response.request.url}: the answer is not JSON: {exc}") from exc
        try:
            return gojson.decode(document, go_type, where=f"{response.request.method} {response.request.url.path}")
        except gojson.GoDecodeError as exc:
            raise KfutilError(str(exc)) from exc

    def login(self) -> None:
        """auth_core.go Authenticate: GET /Status/Endpoints, no body, decoded as []string. kfutil's authViaEnvVars
        authenticates three times before a command (getServerConfigFromEnv, NewKeyfactorClient, and again)."""
        for _ in range(3):
            response = self._send("GET", "Status/Endpoints", query=None, body=None)
            self.decoded(response, "[]string")

    # --- keyfactor-go-client v3.1.0 ----------------------------------------------------------------------------

    def list_certificate_stores(self, params: list[tuple[str, Any]] | None) -> list[Any]:
        """store.go ListCertificateStores. `params` is kfutil's map in the order Go happened to iterate it."""
        if params is not None:
            ids = dict(params).get("Id")
            if ids:
                return [self.get_certificate_store_by_id(ids[0])]
        query = [] if params is None else [("certificateStoreQuery.queryString", build_query(params))]
        stores: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            response = self.request(
                "GET", "CertificateStores/", query=[*query, ("certificateStoreQuery.pageReturned", str(page))]
            )
            items = self.decoded(response, "[]GetCertificateStoreResponse")
            if not items:
                return stores
            stores.extend(items)
        raise KfutilError(f"GET /CertificateStores still answered stores on page {MAX_PAGES}")

    def get_certificate_store_by_id(self, store_id: str) -> Any:
        """store.go GetCertificateStoreByID, then unmarshalPropertiesString, which asserts a JSON object."""
        store = self.decoded(self.request("GET", f"CertificateStores/{store_id}"), GET_STORE_RESPONSE)
        properties = store["Properties"]
        if properties:
            try:
                parsed = json.loads(properties)
            except ValueError:
                parsed = {}
            if not isinstance(parsed, dict):
                raise KfutilError(f"panic: interface conversion: Properties {properties!r} is not a JSON object")
        return store

    def delete_certificate_store(self, store_id: str) -> None:
        if self.request("DELETE", f"CertificateStores/{store_id}").status_code != 204:
            raise KfutilError("DELETE /CertificateStores/{id} did not answer 204")

    def create_store(self, args: dict[str, Any], properties: dict[str, Any]) -> Any:
        """store.go CreateStore: `args` a decoded CreateStoreFctArgs, `properties` its Properties map."""
        for key, what in (("ClientMachine", "client machine"), ("StorePath", "store path"), ("AgentId", "agent id")):
            if not args[key]:
                raise KfutilError(f"{what} is required for creation of new certificate store")
        if not args["Properties"]:
            args = {**args, "Properties": gojson.marshal(properties, "map[string]interface{}")}
        response = self.request("POST", "CertificateStores", payload=gojson.marshal(args, CREATE_STORE_ARGS))
        return self.decoded(response, CREATE_STORE_RESPONSE)

    def get_cert_store_inventory(self, store_id: str) -> list[Any]:
        """store.go GetCertStoreInventory: query.pageReturned 1, 2, … until an empty page; each page decoded as
        []interface{}, encoded again and decoded as []CertStoreInventory."""
        inventory: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            response = self.request(
                "GET", f"CertificateStores/{store_id}/Inventory", query=[("query.pageReturned", str(page))]
            )
            items = self.decoded(response, "[]interface{}")
            if not items:
                return inventory
            again = json.loads(gojson.marshal(items))
            try:
                inventory.extend(gojson.decode(again, "[]CertStoreInventory", where="CertStoreInventory"))
            except gojson.GoDecodeError as exc:
                raise KfutilError(str(exc)) from exc
        raise KfutilError(f"GET /CertificateStores/{store_id}/Inventory still answered entries on page {MAX_PAGES}")

    def add_certificate_to_stores(self, request: dict[str, Any]) -> list[str]:
        response = self.request(
            "POST", "CertificateStores/Certificates/Add", payload=gojson.marshal(request, ADD_CERTIFICATE)
        )
        return self.decoded(response, "[]string")  # type: ignore[no-any-return]

    def remove_certificate_from_stores(self, request: dict[str, Any]) -> list[str]:
        payload = gojson.marshal(request, REMOVE_CERTIFICATE)
        response = self.request("POST", "CertificateStores/Certificates/Remove", payload=payload)
        return self.decoded(response, "[]string")  # type: ignore[no-any-return]

    def get_certificate_store_type(self, id_or_name: int | str) -> Any:
        """store_type.go GetCertificateStoreType: by id (an int) or by name (a string, the first of the array)."""
        if isinstance(id_or_name, int):
            return self.decoded(self.request("GET", f"CertificateStoreTypes/{id_or_name}"), STORE_TYPE)
        found = self.decoded(self.request("GET", f"CertificateStoreTypes/Name/{id_or_name}"), "[]CertificateStoreType")
        if not found:
            raise KfutilError("no certificate store type found with the given name")
        return found[0]

    def list_certificate_store_types(self) -> list[Any]:
        """store_type.go ListCertificateStoreTypes: one request, no paging parameters."""
        return self.decoded(self.request("GET", "CertificateStoreTypes"), "[]CertificateStoreType")  # type: ignore[no-any-return]

    def create_store_type(self, store_type: dict[str, Any]) -> Any:
        response = self.request("POST", "CertificateStoreTypes", payload=gojson.marshal(store_type, STORE_TYPE))
        return self.decoded(response, STORE_TYPE)

    def delete_certificate_store_type(self, store_type_id: int) -> None:
        if self.request("DELETE", f"CertificateStoreTypes/{store_type_id}").status_code != 204:
            raise KfutilError(f"error deleting certificate store type {store_type_id}")

    def get_store_containers(self) -> list[Any]:
        return self.decoded(self.request("GET", "CertificateStoreContainers"), "[]CertStoreContainer")  # type: ignore[no-any-return]

    def get_store_container(self, id_or_name: str) -> Any:
        """store_container.go GetStoreContainer: an id that Atoi reads is GET /{id} decoded into one
        CertStoreContainer; anything else is the list queried by `Name -eq "…"`, its first item."""
        if re.fullmatch(r"[+-]?[0-9]+", id_or_name):
            return self.decoded(self.request("GET", f"CertificateStoreContainers/{int(id_or_name)}"), CONTAINER)
        query = [("pq.queryString", f'Name -eq "{id_or_name}"')]
        found = self.decoded(self.request("GET", "CertificateStoreContainers", query=query), "[]CertStoreContainer")
        if not found:
            raise KfutilError(f"no cert store container found with name {id_or_name}")
        return found[0]

    def list_certificates(self, by: str, value: str) -> list[Any]:
        """certificate.go ListCertificates with {"subject"|"thumbprint"|"id": value}."""
        query = [("includeLocations", "true")]
        if by == "subject":
            query.append(("pq.queryString", f'IssuedCN -eq "{value}"'))
        if by == "thumbprint":
            query.append(("pq.queryString", f'Thumbprint -eq "{value}"'))
        if by == "id":  # decoded as an array although /Certificates/{id} answers one object, as against Command
            return self.decoded(self.request("GET", f"Certificates/{value}"), "[]GetCertificateResponse")  # type: ignore[no-any-return]
        return self.decoded(self.request("GET", "Certificates", query=query), "[]GetCertificateResponse")  # type: ignore[no-any-return]

    # --- kfutil's commands ---------------------------------------------------------------------------------------

    def stores_list(self) -> list[Any]:
        """`kfutil stores list`: ListCertificateStores with an empty (not nil) map."""
        self.login()
        return self.list_certificate_stores([])

    def stores_get(self, store_id: str) -> Any:
        self.login()
        return self.get_certificate_store_by_id(store_id)

    def stores_delete(self, store_id: str) -> None:
        """`kfutil stores delete --id`: read the store, then delete it."""
        self.login()
        self.get_certificate_store_by_id(store_id)
        self.delete_certificate_store(store_id)

    def store_types_list(self) -> list[Any]:
        self.login()
        return self.list_certificate_store_types()

    def store_types_get(self, id_or_name: int | str, *, generic: bool = False) -> Any:
        """`kfutil store-types get --id|--name [--generic]` (--generic dereferences Properties and EntryParameters)."""
        self.login()
        store_type = self.get_certificate_store_type(id_or_name)
        if generic and (store_type["Properties"] is None or store_type["EntryParameters"] is None):
            raise KfutilError("panic: runtime error: invalid memory address or nil pointer dereference")
        return store_type

    def store_types_create(self, entries: list[dict[str, Any]]) -> list[Any]:
        """`kfutil store-types create --name X` (or --all) for `entries` of store_types.json: each entry is
        read into a map (readStoreTypesConfig), encoded, decoded into CertificateStoreType and posted."""
        self.login()
        created = []
        for entry in entries:
            as_map = json.loads(gojson.marshal(entry))
            try:
                store_type = gojson.decode(as_map, STORE_TYPE, where=f"store_types.json {entry.get('ShortName')}")
            except gojson.GoDecodeError as exc:
                raise KfutilError(f"unable to convert store type config to JSON: {exc}") from exc
            created.append(self.create_store_type(store_type))
        return created

    def store_types_delete(self, id_or_name: int | str) -> None:
        """`kfutil store-types delete --id|--name`: read it (by id or name), then DELETE its StoreType."""
        self.login()
        store_type = self.get_certificate_store_type(id_or_name)
        self.delete_certificate_store_type(store_type["StoreType"])

    def containers_list(self) -> list[Any]:
        self.login()
        return self.get_store_containers()

    def containers_get(self, id_or_name: str) -> Any:
        self.login()
        return self.get_store_container(id_or_name)

    def stores_import_csv(self, csv_text: str, store_type: int | str, **defaults: str) -> list[str]:
        """`kfutil stores import csv --store-type-id N|--store-type-name X --file F --no-prompt`: the ids created,
        one per row. `defaults` are --server-username, --server-password, --store-password."""
        self.login()
        found = self.get_certificate_store_type(store_type)  # getRequiredProperties
        required = [item["Name"] for item in found["Properties"] or [] if item["Required"]]
        rows = list(csv.reader(io.StringIO(csv_text)))
        header = rows[0]
        missing = [
            name for name in required if not any(h.casefold() == f"properties.{name}".casefold() for h in header)
        ]
        if missing:
            raise KfutilError(f"missing required fields in headers: '{missing}'")
        created = []
        for row in rows[1:]:
            args, properties = csv_store_body(header, row, required, found["StoreType"], **defaults)
            created.append(self.create_store(args, properties)["Id"])
        return created

    def inventory_show(
        self,
        *,
        sids: list[str] = (),  # type: ignore[assignment]
        clients: list[str] = (),  # type: ignore[assignment]
        store_types: list[str] = (),  # type: ignore[assignment]
        containers: list[str] = (),  # type: ignore[assignment]
        order: tuple[str, ...] = (
            "ClientMachine",
            "ContainerId",
            "Storepath",
            "CertStoreType",
            "AgentId",
            "ContainerName",
            "Id",
        ),
    ) -> dict[str, Any]:
        """`kfutil stores inventory show`: the stores the filters select (one by id with --sid), then each store's
        inventory. `order` is the order Go iterates kfutil's params map in (random in Go)."""
        self.login()
        values: dict[str, Any] = {
            "ClientMachine": list(clients),
            "ContainerId": [],  # a []int, which buildQuery skips
            "Storepath": [],
            "CertStoreType": list(store_types),
            "AgentId": [],
            "ContainerName": list(containers),
            "Id": list(sids),
        }
        selected = self.list_certificate_stores([(key, values[key]) for key in order])
        return {store["Id"]: self.get_cert_store_inventory(store["Id"]) for store in selected}

    def inventory_add(self, *, thumbprints: list[str], sids: list[str]) -> list[list[str]]:
        """`kfutil stores inventory add --thumbprint T --sid S --force`: the job ids of each Add."""
        return self._inventory_change(thumbprints, sids, add=True)

    def inventory_remove(self, *, thumbprints: list[str], sids: list[str]) -> list[list[str]]:
        """`kfutil stores inventory remove --thumbprint T --sid S --force` (the alias removed is the thumbprint)."""
        return self._inventory_change(thumbprints, sids, add=False)

    def _inventory_change(self, thumbprints: list[str], sids: list[str], *, add: bool) -> list[list[str]]:
        self.login()
        certificates = [item for thumbprint in thumbprints for item in self.list_certificates("thumbprint", thumbprint)]
        stores = []
        for store in self.list_certificate_stores([]):
            self.get_certificate_store_type(store["CertStoreType"])  # GetCertificateStoreTypeById, for its ShortName
            if store["Id"] in sids:
                stores.append(store)
        results = []
        for store in stores:
            for certificate in certificates:
                entry = gojson.zero("CertificateStore") | {
                    "CertificateStoreId": store["Id"],
                    "Alias": certificate["Thumbprint"],
                    "Overwrite": True,
                    "IncludePrivateKey": True,
                }
                request = {
                    "CertificateId": certificate["Id"],
                    "CertificateStores": [entry],
                    "Schedule": {"Immediate": True},
                }
                if add:
                    results.append(self.add_certificate_to_stores(gojson.zero(ADD_CERTIFICATE) | request))
                else:
                    results.append(self.remove_certificate_from_stores(gojson.zero(REMOVE_CERTIFICATE) | request))
        return results


def _error_text(response: httpx.Response) -> str:
    """The error sendRequest makes of a refusal: the Message (404), or the FailedOperations' reasons after it and
    the Message again (other statuses)."""
    try:
        answer = response.json()
    except ValueError:
        return response.text
    if not isinstance(answer, dict):
        return response.text
    message = str(answer.get("Message"))
    if response.status_code == 404:
        return message
    text = ""
    if "FailedOperations" in answer:
        reasons = ", ".join(str(item.get("Reason")) for item in answer["FailedOperations"])
        text = f"{message}. {reasons}"
    return text + message if "Message" in answer else text


def build_query(params: list[tuple[str, Any]]) -> str:
    """client.go buildQuery, keys in the given order (Go's map order). Note `)AND (`: kfutil joins with no space."""
    text = ""
    for key, value in params:
        if isinstance(value, list):
            if value and all(isinstance(item, str) for item in value):
                nested = " OR ".join(f'{key} -eq "{item}"' for item in value if item != "")
                text += f"AND ({nested})" if text else f"({nested})"
        elif isinstance(value, bool):
            text += f"AND {key} -eq {str(value).lower()}" if text else f"({key} -eq {str(value).lower()})"
        elif isinstance(value, str):
            if text:
                text += f'AND {key} -eq "{value}"'
            elif value != "":
                text += f'({key} -eq "{value}")'
        elif isinstance(value, int):
            text += f"AND {key} -eq {value}" if text else f"({key} -eq {value})"
    return text


# --- storesBulkOperations.go: the body `stores import csv` posts for one row --------------------------------------


def _atoi(text: str) -> int | None:
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) and -(2**63) <= int(text) < 2**63 else None


def _gabs_set(document: dict[str, Any], path: list[str], value: Any) -> None:
    node = document
    for index, key in enumerate(path):
        if index == len(path) - 1:
            node[key] = value
        else:
            if node.get(key) is None:
                node[key] = {}
            if not isinstance(node[key], dict):
                return  # ErrPathCollision, ignored by kfutil
            node = node[key]


def _gabs_string(document: dict[str, Any], key: str) -> str:
    """gabs v1 `S(key).String()`: the value as JSON, and "{}" when there is none."""
    value = document.get(key)
    return "{}" if value is None else gojson.marshal(value)


def csv_store_body(
    header: list[str],
    row: list[str],
    required: list[str],
    store_type_id: int,
    *,
    server_username: str = "",
    server_password: str = "",
    store_password: str = "",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The CreateStoreFctArgs (decoded) and Properties map kfutil builds from one CSV row, as in the loop of
    storesCreateFromCSVCmd: getJsonForRequest, formatProperties, the ContainerId and Password handling, then
    json.Unmarshal into CreateStoreFctArgs. Note that the row's Password is taken as JSON text (`"pw"` with its
    quotes) and a row without one sends the text `{}` — gabs's rendering of nothing — never --store-password."""
    document: dict[str, Any] = {}
    for name, cell in zip(header, row, strict=False):  # getJsonForRequest
        path = name.split(".")
        if cell.upper() == "TRUE":
            _gabs_set(document, path, True)
        elif cell.upper() == "FALSE":
            _gabs_set(document, path, False)
        elif cell != "":
            number = _atoi(cell)
            if number is not None:
                _gabs_set(document, path, number)
                continue
            try:
                parsed = json.loads(cell)
            except ValueError:
                parsed = None
            _gabs_set(document, path, parsed if isinstance(parsed, dict) else cell)
    for name in required:  # formatProperties
        properties = document.get("Properties")
        if not (isinstance(properties, dict) and name in properties):
            _gabs_set(document, ["Properties", name], "")
    if isinstance(document.get("Properties"), dict):
        for name, value in document["Properties"].items():
            if isinstance(value, int) and not isinstance(value, bool):
                document["Properties"][name] = str(value)
    document["CertStoreType"] = store_type_id
    if not _atoi(_gabs_string(document, "ContainerId")):
        document["ContainerId"] = None
    props = json.loads(_gabs_string(document, "Properties"))
    if not isinstance(props, dict):
        props = {}
    if "ServerUsername" not in props and server_username:
        props["ServerUsername"] = server_username
    if "ServerPassword" not in props and server_password:
        props["ServerPassword"] = server_password
    row_password = _gabs_string(document, "Password")
    document.pop("Properties", None)
    password = row_password if row_password != "" else store_password
    document.pop("Password", None)
    text = gojson.marshal(document).replace("\ufeff", "")
    try:
        args = gojson.decode(json.loads(text), CREATE_STORE_ARGS)
    except gojson.GoDecodeError as exc:
        raise KfutilError(f"Unable to convert the json into the request parameters object. {exc}") from exc
    args["Password"] = gojson.zero("StorePasswordConfig") | {"SecretValue": password}
    return args, props
