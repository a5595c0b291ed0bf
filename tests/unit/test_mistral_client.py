"""Transitional: ``FakeApiTestCase`` for the completion server's test.

Its tests moved to tests/unit/heat/clients/test_mistral_api.py;
tests/unit/mistral/test_completion_server.py (the Mistral-side tests) still
imports the fixture from here. Delete this module once it imports the new
path.
"""
from tests.unit.heat.clients.test_mistral_api import FakeApiTestCase  # noqa: F401,E501
