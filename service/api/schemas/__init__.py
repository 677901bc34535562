"""The schema modules of the HTTP API: one per route module, each answer's model with its mapping beside it."""
