"""Runs inside heat-api: the read-only workflow view of a stack.

``workflow_view`` (the paste filter and its one route), ``view`` (what
is read from Mistral, as the service) and ``rows`` (what of it a user may
see).
"""
