"""In-process caches shared by the nodes of an engine worker (pure)."""
