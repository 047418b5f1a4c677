"""The HTTP edge: the Starlette app, the /graphql endpoint, schema assembly and its extensions
(query cost, input guard, error masking), and the planner that answers reads in one statement."""
