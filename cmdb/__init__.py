"""The CMDB domain: model, ingest (identify -> reconcile -> apply), stores, history,
aging, impact, change planning and the read services.

It never imports discovery, graph_api, web frameworks or scanner libraries.
"""
