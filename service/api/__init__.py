"""HTTP API of supportgate (FastAPI)."""
