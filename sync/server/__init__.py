"""The central sync server: a FastAPI app over a generic, per-dealer record store.

The server is schema-agnostic: it keeps every synced row as canonical JSON keyed by
(dealer, table, row id) and learns which tables and columns are valid from the laptop's models
(:mod:`sync.server.schema`), so an additive schema change needs no server migration.
"""
