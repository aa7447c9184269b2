"""GraphQL area: manual merge and unmerge of CIs, and the suspected duplicates."""
