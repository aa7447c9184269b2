"""CIs and relationships: types, filters, queries (ci, cis, neighbours, history) and manual edits."""
