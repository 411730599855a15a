"""The HTTP edge: thin routes, request schemas, dependencies, error mapping."""
