"""Use cases: one module per job. They flush; the caller's unit of work commits."""
