"""graph_api package."""
