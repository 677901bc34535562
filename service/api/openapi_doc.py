"""The OpenAPI document as checked in under openapi/ (stable: sorted keys, no machine settings)."""

from __future__ import annotations

import json

from service.settings import Settings


def render_openapi() -> str:
    from service.api.app import create_app

    app = create_app(Settings(database_url="sqlite://", bootstrap_admin_key=None))
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"
