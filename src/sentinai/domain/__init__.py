"""Pure rules of the exception domain: no I/O, no SQL, no GraphQL."""
