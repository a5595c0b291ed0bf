"""Transitional alias of ``heat_mistral_engine.heat.clients.mistral_api``.

tests/unit/mistral/test_completion_server.py (the Mistral-side tests)
still imports this path; delete this module once it imports the new one.
The module object itself is aliased, so patches and isinstance checks made
through either name apply to the same module.
"""
import sys

from heat_mistral_engine.heat.clients import mistral_api

sys.modules[__name__] = mistral_api
