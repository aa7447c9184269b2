"""Read and write use cases the API (and the CLI) call: no transport, no SQL.

``reads`` (lookup, search, neighbours, history, runs), ``topology`` (a drawable
neighbourhood), ``edits`` (manual edits through the Ingestor as source ``manual``),
``collect`` (remote collector batches), ``graph`` (impact engine adapter).
"""
