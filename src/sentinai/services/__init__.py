"""Operations: each runs inside the caller's unit of work and never commits.

A service composes repositories into one business operation (ingest, record an event,
decide a plan…) and applies the domain rules; resolvers, agents and the CLI call these.
"""
