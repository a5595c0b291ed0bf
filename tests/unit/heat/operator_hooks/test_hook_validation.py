#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Validation of a stack's operator hooks: what the user is told."""

import os
import tempfile
import types
from unittest import mock

import fixtures
from heat.common import exception

from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.operator_hooks import hook_validation
from tests.unit import base

HOOKS = b"""hooks:
- name: cmdb
  workflow: register
  when: after
  actions: [create]
  resource_type: "OS::Heat::*"
"""


class HookValidationTest(base.TestCase):

    def setUp(self):
        super().setUp()
        handle, self.path = tempfile.mkstemp(suffix='.yaml')
        self.addCleanup(os.remove, self.path)
        with os.fdopen(handle, 'wb') as stream:
            stream.write(HOOKS)
        self.conf.config(operator_hooks_file=self.path, enabled=True,
                         group='mistral_scheduler')
        rsrc = types.SimpleNamespace(type=lambda: 'OS::Heat::TestResource')
        self.stack = types.SimpleNamespace(resources={'r': rsrc})

    def test_unreachable_mistral_is_one_sentence_without_its_url(self):
        # The client's error names Mistral's internal URL: logged under
        # the request id, which is all the user gets of it.
        logged = self.useFixture(fixtures.FakeLogger())
        down = mistral_api.unavailable(
            'look up workflow register', 'http://10.0.0.9:8989/v2',
            ConnectionError('Unable to establish connection to '
                            'http://10.0.0.9:8989/v2/workflows/register'))
        service = mock.Mock()
        service.workflow_input.side_effect = down
        with mock.patch.object(hook_validation.mistral_api,
                               'MistralService', return_value=service):
            failed = self.assertRaises(exception.StackValidationFailed,
                                       hook_validation.check_stack,
                                       self.stack)
        self.assertIn('Cannot check the operator hooks of hooks file %s: '
                      'Mistral failed to look up workflow register (details '
                      'in Heat\'s log, request %s)'
                      % (self.path, down.request_id), str(failed))
        self.assertNotIn('10.0.0.9', str(failed))
        self.assertIn('[%s] Mistral at http://10.0.0.9:8989/v2 failed to '
                      'look up workflow register' % down.request_id,
                      logged.output)
