"""The REST API v2: the runs endpoints wire-compatible with the Kognitos REST API v2, and
plainrun's own /v2 routes. Each route parses, calls a service, and renders (``render``)."""
