"""The user's files: YAML read strictly, checked against the schema, loaded into a `Desired`."""
