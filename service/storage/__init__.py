"""Persistence: tables, engine factories and the repository the use cases depend on."""
