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

"""The lean_start_task patch: start_task without the workflow spec.

Mistral's options and Heat's clash in one process, so the checks run in a
child process (tests/unit/mistral_side/check_lean_start_task.py).
"""

import importlib.util

import testtools

from tests.unit import base
from tests.unit import mistral_side

CHECK = 'lean_start_task'


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class LeanStartTaskTest(base.TestCase):

    def test_start_task_no_longer_sends_the_spec(self):
        seen = mistral_side.run_check(CHECK)
        self.assertIsNone(seen['incompatibility'])
        self.assertEqual('start_task', seen['method'])
        self.assertEqual('task-1', seen['task_ex_id'])
        self.assertEqual({'other': 'kept'}, seen['params'])
        self.assertTrue(seen['installed_again'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = mistral_side.run_check(CHECK, 'disabled')
        self.assertEqual({'wf_spec': 'THE SPEC', 'other': 'kept'},
                         seen['params'])
        self.assertFalse(seen['installed_again'])
