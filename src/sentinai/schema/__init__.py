"""Strawberry types, inputs, payloads and scalars. No SQL and no sessions here: nested
fields read through the per-request loaders in `info.context`."""
