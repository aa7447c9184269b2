"""Change planning in GraphQL: changes, plans, approvals and drift."""
