"""The OpenAPI document as checked in under openapi/: the app's own, built with settings of no machine."""

from __future__ import annotations

import json

from service.api.app import create_app
from service.settings import Settings


def render_openapi() -> str:
    app = create_app(Settings(database_url="sqlite://", bootstrap_admin_key=None))
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"
