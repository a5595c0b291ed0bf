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

"""heat.run_node and heat.hook_report act only in generated workflows.

``action_origin.refusal`` is checked here against fakes of Mistral's
execution context and database; the actions themselves, with the context
Mistral's engine builds, Mistral's executor and Mistral's real database,
in a child process (tests/unit/mistral_side/check_action_origin.py):
Mistral's options and Heat's clash in one process.
"""

import importlib.util
import types
from unittest import mock

import fixtures
import testtools

from heat_mistral_engine.mistral import action_origin
from heat_mistral_engine.mistral import actions
from heat_mistral_engine.mistral import heat_rpc
from heat_mistral_engine.mistral import hook_actions
from tests.unit import base
from tests.unit import mistral_side

CHECK = 'action_origin'
STACK = 'c5f36dfd-de7c-406e-addc-51f8191e9e9b'
TRAVERSAL = 'a3c5cc83-63d2-4220-9a4b-1be9dc28aab8'
WORKFLOW = 'heat_stack_%s' % STACK
SERVICE = 'service-project'
WF_EX = 'wf-ex-1'


def execution(wf_ex=WF_EX, name=WORKFLOW):
    """``context.execution`` as Mistral hands it to a task's action."""
    return types.SimpleNamespace(
        workflow_execution_id=wf_ex, task_execution_id='task-ex',
        action_execution_id='ax-1', workflow_name=name)


def ad_hoc():
    """``context.execution`` of an action run on its own (no task)."""
    return types.SimpleNamespace(
        workflow_execution_id=None, task_execution_id=None,
        action_execution_id='ax-2', workflow_name=None)


class RefusalTest(base.TestCase):
    """What Mistral's records must say for an action to act."""

    def setUp(self):
        super().setUp()
        self.rows = {WF_EX: action_origin.Origin(SERVICE, WORKFLOW,
                                                 TRAVERSAL)}
        self.lookups = []

    def origin(self, wf_ex_id):
        self.lookups.append(wf_ex_id)
        try:
            return self.rows[wf_ex_id]
        except KeyError:
            raise action_origin.NotFound(wf_ex_id)

    def refusal(self, execution, stack=STACK, traversal=TRAVERSAL,
                project=SERVICE):
        return action_origin.refusal('heat.run_node', execution, stack,
                                     traversal, origin=self.origin,
                                     project=lambda: project)

    def test_a_task_of_the_generated_execution_may_act(self):
        self.assertIsNone(self.refusal(execution()))
        self.assertEqual([WF_EX], self.lookups)

    def test_an_ad_hoc_run_is_refused_without_a_lookup(self):
        reason = self.refusal(ad_hoc())
        self.assertIn('heat.run_node acts only as a task of a workflow '
                      'execution that heat-engine generated', reason)
        self.assertIn('run on its own', reason)
        self.assertIn('Nothing was sent to Heat', reason)
        self.assertEqual([], self.lookups)

    def test_another_workflow_is_refused_without_a_lookup(self):
        reason = self.refusal(execution(name='mine'))
        self.assertIn('workflow mine, not %s' % WORKFLOW, reason)
        self.assertEqual([], self.lookups)

    def test_the_input_names_another_stack(self):
        reason = self.refusal(execution(), stack='s2')
        self.assertIn('not heat_stack_s2', reason)

    def test_another_project_is_refused(self):
        self.rows[WF_EX] = action_origin.Origin('tenant', WORKFLOW,
                                                TRAVERSAL)
        reason = self.refusal(execution())
        self.assertIn('belongs to another project than Heat\'s service '
                      'project', reason)
        # The service project's id is not told to whoever ran it.
        self.assertNotIn(SERVICE, reason)

    def test_another_namespace_is_refused(self):
        for namespace in ('t0', '', None):
            self.rows[WF_EX] = action_origin.Origin(SERVICE, WORKFLOW,
                                                    namespace)
            reason = self.refusal(execution())
            self.assertIn('namespace "%s", not that of traversal %s'
                          % (namespace or '', TRAVERSAL), reason)

    def test_the_input_names_another_traversal(self):
        reason = self.refusal(execution(), traversal='t2')
        self.assertIn('not that of traversal t2', reason)

    def test_the_database_row_names_another_workflow(self):
        self.rows[WF_EX] = action_origin.Origin(SERVICE, 'mine', TRAVERSAL)
        reason = self.refusal(execution())
        self.assertIn('runs workflow mine, not %s' % WORKFLOW, reason)

    def test_an_unknown_execution_is_refused(self):
        reason = self.refusal(execution(wf_ex='gone'))
        self.assertIn('workflow execution gone is not in Mistral\'s '
                      'database', reason)

    def test_a_failed_lookup_is_refused_without_its_details(self):
        def broken(wf_ex_id):
            raise RuntimeError('mysql://secret@db/mistral is down')

        log = self.useFixture(fixtures.FakeLogger())
        reason = action_origin.refusal('heat.run_node', execution(), STACK,
                                       TRAVERSAL, origin=broken,
                                       project=lambda: SERVICE)
        self.assertIn('could not be read from Mistral\'s database', reason)
        self.assertNotIn('secret', reason)
        self.assertIn('secret', log.output)

    def test_an_unknown_service_project_refuses_everything(self):
        reason = self.refusal(execution(), project=None)
        self.assertIn('service_project_id is not set in mistral.conf',
                      reason)
        self.assertEqual([], self.lookups)


class ActionsTest(base.TestCase):
    """A refused action casts nothing and fails its action execution."""

    def setUp(self):
        super().setUp()
        self.node_cast = self.useFixture(fixtures.MockPatchObject(
            heat_rpc, 'cast_run_node')).mock
        self.report_cast = self.useFixture(fixtures.MockPatchObject(
            heat_rpc, 'cast_hook_report')).mock
        self.useFixture(fixtures.MockPatchObject(
            action_origin, 'execution_origin', lambda wf_ex_id:
            action_origin.Origin(SERVICE, WORKFLOW, TRAVERSAL)))
        self.useFixture(fixtures.MockPatchObject(
            action_origin, 'service_project', lambda: SERVICE))
        self.log = self.useFixture(fixtures.FakeLogger())

    def context(self, execution):
        return types.SimpleNamespace(
            execution=execution,
            security=types.SimpleNamespace(project_id='tenant'))

    def node(self):
        return actions.RunNode(STACK, TRAVERSAL, 7, True, 'token')

    def report(self):
        return hook_actions.HookReport(STACK, TRAVERSAL, 'token', 7, True,
                                       hook='h', error='forged')

    def test_ad_hoc_run_node_casts_nothing(self):
        result = self.node().run(self.context(ad_hoc()))
        self.assertTrue(result.is_error())
        self.assertIn('heat.run_node acts only as a task', result.error)
        self.node_cast.assert_not_called()
        self.assertIn('heat.run_node refused [action execution ax-2, '
                      'execution None, project tenant]', self.log.output)

    def test_ad_hoc_hook_report_casts_nothing(self):
        result = self.report().run(self.context(ad_hoc()))
        self.assertTrue(result.is_error())
        self.assertIn('heat.hook_report acts only as a task', result.error)
        self.report_cast.assert_not_called()

    def test_a_task_of_another_workflow_casts_nothing(self):
        for action, cast in ((self.node(), self.node_cast),
                             (self.report(), self.report_cast)):
            result = action.run(self.context(execution(name='mine')))
            self.assertTrue(result.is_error())
            cast.assert_not_called()

    def test_a_task_of_the_generated_execution_casts(self):
        with mock.patch.object(actions.completion_server, 'start'):
            self.assertIsNone(self.node().run(self.context(execution())))
        self.assertEqual(7, self.node_cast.call_args[0][0]['resource_id'])
        self.assertIsNone(self.report().run(self.context(execution())))
        self.assertEqual(7,
                         self.report_cast.call_args[0][0]['resource_id'])


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class InMistralTest(base.TestCase):
    """The actions in Mistral's executor, on Mistral's real database."""

    def assert_only_generated_acts(self, cases, refusals):
        """``generated`` casts; every case in ``refusals`` casts nothing.

        ``refusals``: {case: words its error has}, for both actions.
        """
        self.assertEqual({'node': {'cast': [['node', 1]], 'error': None},
                          'report': {'cast': [['report', 1]],
                                     'error': None}},
                         cases['generated'])
        for case, words in refusals.items():
            for action, seen in cases[case].items():
                self.assertEqual([], seen['cast'], (case, action))
                self.assertIn('Refused by heat-mistral-engine: heat.%s acts '
                              'only as a task' % (
                                  'run_node' if action == 'node'
                                  else 'hook_report'), seen['error'])
                self.assertIn(words, seen['error'], (case, action))

    def test_with_keystone_only_the_service_projects_execution_acts(self):
        seen = mistral_side.run_check(CHECK, 'auth')
        self.assert_only_generated_acts(seen['cases'], {
            'ad_hoc': 'run on its own',
            'ad_hoc_service': 'run on its own',
            'tenant_workflow': 'another project',
            'other_workflow': 'workflow mine',
            'other_namespace': 'namespace "other"',
            'default_namespace': 'namespace ""',
            'other_stack': 'not heat_stack_s2',
            'other_traversal': 'not that of traversal t2',
        })
        # Whoever completed the task before does not matter.
        self.assertEqual([['node', 1]],
                         seen['cases']['generated_other_caller']['node'][
                             'cast'])
        # 100 nodes of one execution: one query, then remembered.
        self.assertEqual(100, seen['chain_cast'])
        self.assertEqual(1, seen['chain_queries'])
        # A lost connection to Mistral's database is retried, not refused.
        self.assertEqual({'node': {'cast': [['node', 1]], 'error': None}},
                         seen['cases']['db_restart'])
        self.assertEqual(2, seen['db_restart_lost'])

    def test_without_keystone_mistrals_one_project_is_the_services(self):
        seen = mistral_side.run_check(CHECK)
        self.assert_only_generated_acts(seen['cases'], {
            'ad_hoc': 'run on its own',
            'other_workflow': 'workflow mine',
            'other_namespace': 'namespace "other"',
            'other_traversal': 'not that of traversal t2',
        })
        # Every object is in Mistral's one project: a "tenant" is the
        # service (doc/source/security.rst).
        self.assertEqual([['node', 1]],
                         seen['cases']['tenant_workflow']['node']['cast'])

    def test_with_keystone_an_unset_service_project_refuses_all(self):
        seen = mistral_side.run_check(CHECK, 'auth', 'unset')
        for case, by_action in seen['cases'].items():
            for action, result in by_action.items():
                self.assertEqual([], result['cast'], (case, action))
        self.assertIn('service_project_id is not set',
                      seen['cases']['generated']['node']['error'])
        self.assertEqual(0, seen['chain_cast'])
