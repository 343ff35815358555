"""The browsable API: Swagger UI at /docs and ReDoc at /redoc, every file served by the app itself, so both work with
no internet. Their JavaScript and CSS are the dist files the `fastapi-offline` package ships (Swagger UI 5, which
reads OpenAPI 3.1, and ReDoc 2); the pages and Swagger UI's start-up script are ours.

The pages, their assets and /openapi.json hold no data and need no credentials; "Try it out" sends the credentials
given to Authorize, and Command's x-keyfactor-requested-with header on every /KeyfactorAPI call. Each page carries a
Content-Security-Policy that lets it load only this origin's scripts (no inline script)."""

from html import escape

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from orchjobs.api import paths

DOCS, REDOC, ASSETS = "/docs", "/redoc", "/docs/assets"
SWAGGER_INIT = f"{DOCS}/swagger-init.js"
# Swagger UI and ReDoc set inline styles, ReDoc runs its search in a worker made from a blob, and both draw some
# images from data: URLs; nothing else is allowed, and nothing but this origin.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
_PAGE_HEADERS = {"Content-Security-Policy": PAGE_POLICY}

# Swagger UI's start-up: the document's URL comes from the page; Command's header is added to every /KeyfactorAPI
# call that lacks it (the document also declares it, with APIClient as its default).
_SWAGGER_INIT_JS = """\
"use strict";
(function () {
  var element = document.getElementById("swagger-ui");
  var apiPrefix = element.getAttribute("data-api-prefix");
  window.ui = SwaggerUIBundle({
    url: element.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    // Each tag's operations open when asked: expanding all 100-odd operations at once takes seconds to draw.
    docExpansion: "none",
    filter: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    requestInterceptor: function (request) {
      var path = new URL(request.url, window.location.href).pathname.toLowerCase();
      if (path.indexOf(apiPrefix) === 0) {
        var present = Object.keys(request.headers || {}).some(function (name) {
          return name.toLowerCase() === "x-keyfactor-requested-with";
        });
        if (!present) {
          request.headers = request.headers || {};
          request.headers["x-keyfactor-requested-with"] = "APIClient";
        }
      }
      return request;
    },
  });
})();
"""


def install_api_docs(app: FastAPI) -> None:
    """/docs, /redoc, Swagger UI's start-up script and the assets (FastAPI's own docs_url and redoc_url stay off)."""
    app.mount(ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="api-docs-assets")

    @app.get(DOCS, include_in_schema=False)
    async def swagger_ui(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        body = f"""\
<div id="swagger-ui" data-openapi-url="{_attribute(root, app.openapi_url)}"
     data-api-prefix="{escape((root + paths.API + "/").lower())}"></div>
<script src="{_attribute(root, ASSETS)}/swagger-ui-bundle.js"></script>
<script src="{_attribute(root, SWAGGER_INIT)}"></script>"""
        return _page(root, f"{app.title} - Swagger UI", f"{ASSETS}/swagger-ui.css", body)

    @app.get(SWAGGER_INIT, include_in_schema=False)
    async def swagger_init() -> Response:
        return Response(_SWAGGER_INIT_JS, media_type="text/javascript; charset=utf-8")

    @app.get(REDOC, include_in_schema=False)
    async def redoc(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        body = f"""\
<redoc spec-url="{_attribute(root, app.openapi_url)}"></redoc>
<script src="{_attribute(root, ASSETS)}/redoc.standalone.js"></script>"""
        return _page(root, f"{app.title} - ReDoc", None, body)


def _page(root: str, title: str, stylesheet: str | None, body: str) -> HTMLResponse:
    style = f'\n<link rel="stylesheet" href="{_attribute(root, stylesheet)}">' if stylesheet else ""
    html = f"""\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" type="image/png" href="{_attribute(root, ASSETS)}/favicon.png">{style}
</head>
<body>
{body}
</body>
</html>
"""
    return HTMLResponse(html, headers=_PAGE_HEADERS)


def _attribute(root: str, path: str | None) -> str:
    return escape(root + (path or ""))
