"""Transitional: ``FakeApiTestCase`` for tests/unit/test_completion_server.py.

Its tests moved to tests/unit/heat/clients/test_mistral_api.py; the test of
the completion server, which the Mistral-side work moves, still imports the
fixture from here. Delete this module once it imports the new path.
"""
from tests.unit.heat.clients.test_mistral_api import FakeApiTestCase  # noqa: F401,E501
