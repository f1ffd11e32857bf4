"""The REST API (schemas, auth, error routing, rerank and FAQ routes, metrics) and serving the desk on one port."""
