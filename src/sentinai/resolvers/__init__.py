"""Query and Mutation fields: thin. Each opens a unit of work, calls services or
repositories, and converts rows to schema types. Guards are declared on every field."""
