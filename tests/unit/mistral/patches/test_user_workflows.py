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

"""Every patch on, a plain user workflow ends as on an unpatched Mistral.

A Mistral may serve other projects besides Heat, so the patches must leave
their workflows as they are (doc/source/operator-guide.rst, "A Mistral
shared with other projects"). Mistral's real engine runs the workflows of
tests/unit/mistral_side/user_workflows.py twice, in child processes
(check_user_workflows.py; Mistral's options and Heat's clash in one
process): with no patch, and with every patch of the registry on, the
opt-in ones too.
"""

import importlib.util

import testtools

from heat_mistral_engine.mistral.patches import registry
from tests.unit import base
from tests.unit import mistral_side
from tests.unit.mistral_side import user_workflows

CHECK = 'user_workflows'
PLAIN = ('user_direct', 'user_reverse')
# What Mistral 23 makes of them, task by task: exactly.
EXPECTED = user_workflows.EXPECTED


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class UserWorkflowsTest(base.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # One after the other: each runs a Mistral engine for ~40 s.
        cls.upstream = mistral_side.run_check(CHECK, 'upstream')
        cls.patched = mistral_side.run_check(CHECK, 'patched')

    def test_every_patch_is_in_place_or_none(self):
        self.assertEqual([p.option for p in registry.PATCHES],
                         self.patched['installed'])
        self.assertEqual([], self.upstream['installed'])

    def test_upstream_mistral_gives_the_expected_results(self):
        # The reference the patched runs are held to: exact, so that the
        # comparison below compares something.
        self.assertEqual(EXPECTED, self.upstream['results'])

    def test_user_workflows_end_as_on_upstream_mistral(self):
        for name in PLAIN:
            self.assertEqual(EXPECTED[name], self.patched['results'][name],
                             name)

    def test_generated_names_change_no_result_either(self):
        # The opt-in patches apply to workflows named heat_stack_*, which
        # a tenant may also choose: still the same results.
        for name in PLAIN:
            self.assertEqual(EXPECTED[name],
                             self.patched['results']['heat_stack_' + name],
                             name)

    def test_opt_in_patches_apply_to_generated_names_only(self):
        handled = self.patched['handled']
        for name in PLAIN:
            self.assertNotIn(name, handled)
        direct = handled['heat_stack_user_direct']
        self.assertGreater(direct['local_starts'], 0)
        # The join task ``joined`` is checked after its inbound tasks.
        self.assertGreater(direct['prompt_checks'], 0)
        self.assertGreater(
            handled['heat_stack_user_reverse']['local_starts'], 0)
        self.assertEqual({}, self.upstream['handled'])
