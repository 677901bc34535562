"""/docs and /redoc served with their scripts from the installed fastapi-offline package: no CDN, works offline."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.requests import Request
from starlette.responses import Response

ASSETS = "/docs/assets"
# The files we serve, by name, with their type: nothing else under the package is reachable.
MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}


def _asset_bytes(name: str) -> bytes:
    return resources.files("fastapi_offline").joinpath("static", name).read_bytes()


def install(app: FastAPI, title: str) -> None:
    """Call with FastAPI's own docs_url and redoc_url set to None (those load scripts from a CDN)."""
    cache: dict[str, bytes] = {}

    async def swagger(request: Request) -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{title} — API", swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css", swagger_favicon_url=f"{ASSETS}/favicon.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
            # Swagger UI would otherwise send the document to its public validator for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )

    async def oauth2_redirect(request: Request) -> Response:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> Response:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{title} — API", redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{ASSETS}/favicon.png", with_google_fonts=False)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        media_type = MEDIA_TYPES.get(name)
        if media_type is None:
            return Response(status_code=404)
        if name not in cache:
            cache[name] = _asset_bytes(name)
        return Response(cache[name], media_type=media_type, headers={"cache-control": "public, max-age=86400"})

    app.add_route("/docs", swagger, include_in_schema=False)
    app.add_route("/docs/oauth2-redirect", oauth2_redirect, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    app.add_route(ASSETS + "/{name}", asset, include_in_schema=False)
