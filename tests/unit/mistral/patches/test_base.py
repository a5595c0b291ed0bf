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

"""What every patch shares (patches.base): no Mistral, no patch; the
option; idempotence; a WARNING and nothing patched when Mistral is not as
read; an INFO line when applied.

Runs in the test process on a stand-in patch: nothing of Mistral's engine
is imported.
"""

import fixtures
from oslo_config import cfg

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.mistral import actions
from heat_mistral_engine.mistral import hook_actions
from heat_mistral_engine.mistral import options
from heat_mistral_engine.mistral.patches import base as patches_base
from tests.unit import base


class StandIn(patches_base.Patch):
    option = 'lean_start_task'
    left_alone = 'the stand-in as it is'
    cost = 'nothing gets faster'
    applied = 'the stand-in is patched'

    def __init__(self, problem=None):
        self.problem = problem
        self.applied_times = 0

    def installed(self):
        return self.applied_times > 0

    def mistral_problem(self):
        return self.problem

    def apply(self):
        self.applied_times += 1


class PatchTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = cfg.ConfigOpts()
        self.in_mistral = self.useFixture(fixtures.MockPatchObject(
            patches_base, 'in_mistral_process', return_value=True)).mock
        self.release = self.useFixture(fixtures.MockPatchObject(
            patches_base, 'release_problem', return_value=None)).mock
        self.logged = self.useFixture(fixtures.FakeLogger())

    def test_applied_once_and_said_at_info(self):
        patch = StandIn()
        self.assertTrue(patch.install(self.conf))
        self.assertTrue(patch.install(self.conf))
        self.assertEqual(1, patch.applied_times)
        self.assertEqual(
            'heat-mistral-engine: the stand-in is patched '
            '([heat_mistral_engine] lean_start_task).\n',
            self.logged.output)

    def test_nothing_outside_a_mistral_process(self):
        self.in_mistral.return_value = False
        patch = StandIn()
        self.assertFalse(patch.install(self.conf))
        self.assertEqual(0, patch.applied_times)
        self.assertEqual('', self.logged.output)

    def test_nothing_with_the_option_off(self):
        options.register_opts(self.conf)
        self.conf.set_override('lean_start_task', False, options.GROUP)
        patch = StandIn()
        self.assertFalse(patch.install(self.conf))
        self.assertEqual(0, patch.applied_times)

    def test_another_release_is_left_alone_with_a_warning(self):
        self.release.return_value = 'Mistral 24.0.0 is not a release'
        patch = StandIn()
        self.assertFalse(patch.install(self.conf))
        self.assertEqual(0, patch.applied_times)
        self.assertEqual(
            'heat-mistral-engine leaves the stand-in as it is (Mistral '
            '24.0.0 is not a release): nothing gets faster.\n',
            self.logged.output)
        self.assertEqual('Mistral 24.0.0 is not a release',
                         patch.incompatibility())

    def test_changed_signatures_are_left_alone_with_a_warning(self):
        patch = StandIn(problem='f(x) is not the expected (y,)')
        self.assertFalse(patch.install(self.conf))
        self.assertEqual(0, patch.applied_times)
        self.assertIn('(f(x) is not the expected (y,))', self.logged.output)


class ChecksTest(base.TestCase):

    def test_version_problem(self):
        supported = ((23, 0), (24, 0))
        self.assertIsNone(
            patches_base.version_problem('Mistral', '23.0.1', supported))
        self.assertEqual(
            'Mistral 24.0.0 is not a release this patch was read for',
            patches_base.version_problem('Mistral', '24.0.0', supported))
        self.assertEqual(
            'Mistral 22.1.0 is not a release this patch was read for',
            patches_base.version_problem('Mistral', '22.1.0', supported))

    def test_signature_problem(self):
        def task_(context, task_name=None):
            pass

        self.assertIsNone(patches_base.signature_problem(
            ((task_, ('context', 'task_name')),)))
        self.assertEqual(
            "ChecksTest.test_signature_problem.<locals>.task_('context', "
            "'task_name') is not the expected ('context',)",
            patches_base.signature_problem(((task_, ('context',)),)))

    def test_original_is_what_a_wrapper_replaced(self):
        def f():
            pass

        def wrapper():
            pass

        wrapper._hme_original = f
        self.assertIs(f, patches_base.original(wrapper))
        self.assertIs(f, patches_base.original(f))


class ScopeTest(base.TestCase):
    """How scoped patches tell the package's own from other projects'."""

    def test_generated_workflows_by_name(self):
        self.assertTrue(patches_base.generated_workflow(
            workflow.workflow_name('0a1b-2c3d')))
        for name in ('user_direct', 'my_heat_stack_1', '', None, 42):
            self.assertFalse(patches_base.generated_workflow(name), name)

    def test_spec_name(self):
        class Spec(object):
            def get_name(self):
                return 'heat_stack_1'

        self.assertEqual('heat_stack_1', patches_base.spec_name(Spec()))
        self.assertIsNone(patches_base.spec_name('a spec as text'))
        self.assertIsNone(patches_base.spec_name(None))

    def test_own_actions_are_this_packages_classes(self):
        self.assertTrue(patches_base.own_action(
            actions.RunNode('stack', 'traversal', 1, True, 'token')))
        self.assertTrue(patches_base.own_action(
            hook_actions.HookReport('stack', 'traversal', 'token', 1,
                                    True)))

        class Foreign(object):
            pass

        self.assertFalse(patches_base.own_action(Foreign()))
        # A class that only claims to be one of the package's modules'
        # (a tenant's dynamic action is Python code too) is not.
        Foreign.__module__ = actions.__name__
        Foreign.__name__ = 'RunNode'
        self.assertFalse(patches_base.own_action(Foreign()))
