# Starlette's TestClient is typed against httpx2 (`if TYPE_CHECKING: import httpx2 as httpx`) but runs on
# httpx when httpx2 is not installed, as here (pyproject.toml depends on httpx). This stub says what runs:
# httpx2 is httpx, so TestClient's get/post/... return httpx.Response for mypy instead of Any.
from httpx import *  # noqa: F403 (all of httpx, as it is)
from httpx import _client as _client
from httpx import _types as _types
