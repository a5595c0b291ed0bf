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

"""Heat's checks of operator hook proofs: forged, replayed, missing.

Mistral is faked at its client (the boundary): ``tasks.list`` and
``executions.list`` answer from a list of records as Mistral's API
filters them; Heat's side (requirements row, claims) is Heat's test
database.
"""

import dataclasses
import types
from unittest import mock

from heat.engine import sync_point

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.node import hook_proofs
from heat_mistral_engine.heat.node import runner
from heat_mistral_engine.heat.store import claims
from heat_mistral_engine.heat.store import completion
from heat_mistral_engine.heat.store import hook_requirements
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine import protocol
from tests.unit import base

BEFORE = {'when': 'before', 'hook': 'quota', 'workflow': 'quota_wf',
          'task': 'web__before__quota', 'actions': ['create']}
AFTER = {'when': 'after', 'hook': 'cmdb', 'workflow': 'cmdb_wf',
         'task': 'web__after__cmdb', 'actions': ['create']}


class FakeMistral:
    """Mistral's task and execution lists, filtered as its API does."""

    def __init__(self):
        self.tasks = []
        self.executions = []
        self.down = False

    def client(self):
        client = mock.Mock()
        client.tasks.list.side_effect = self.list_tasks
        client.executions.list.side_effect = self.list_executions
        return client

    def task(self, stack_id, traversal, name, state='SUCCESS',
             runs=(('SUCCESS', None),)):
        """A task; ``runs``: (state, workflow) of its sub-executions."""
        task = types.SimpleNamespace(
            id='task-%d' % len(self.tasks), name=name, state=state,
            workflow_name=workflow.workflow_name(stack_id),
            workflow_namespace=traversal, workflow_execution_id='wf-ex',
            project_id=None)
        self.tasks.append(task)
        for run_state, run_workflow in runs:
            self.executions.append(types.SimpleNamespace(
                id='ex-%d' % len(self.executions), state=run_state,
                workflow_name=run_workflow, task_execution_id=task.id,
                project_id=None))
        return task

    def list_tasks(self, name=None, workflow_name=None, **kwargs):
        if self.down:
            raise ConnectionError('connection refused')
        return [t for t in self.tasks if t.name == name and
                t.workflow_name == workflow_name]

    def list_executions(self, task_execution_id=None, **kwargs):
        return [e for e in self.executions
                if e.task_execution_id == task_execution_id]


class ProofTestCase(base.HeatDbTestCase):

    def setUp(self):
        super().setUp()
        stored = self.stack.current_traversal
        self.traversal = self.stack.current_traversal = 'trav-2'
        self.stack.store(exp_trvsl=stored)
        self.conf.config(group='mistral_scheduler',
                         mistral_url='http://127.0.0.1:1/v2')
        self.fake = FakeMistral()
        self.service = mistral_api.MistralService()
        self.service._client = self.fake.client()
        self.useFixture(base.fixtures.MockPatchObject(
            hook_proofs, 'RETRY_WAIT', 0))
        # Rows are new in each test; so must the remembered ones be.
        self.useFixture(base.fixtures.MockPatchObject(
            hook_requirements, 'REQUIREMENTS',
            hook_requirements.Requirements()))

    def ran(self, name, item, traversal=None, stack_id=None, **kwargs):
        """A hook task and its sub-execution of ``item``'s workflow."""
        kwargs.setdefault('runs', (('SUCCESS', item['workflow']),))
        return self.fake.task(stack_id or self.stack.id,
                              traversal or self.traversal, name, **kwargs)

    def problem(self, item):
        return hook_proofs.proof_problem(self.service, self.stack.id,
                                         self.traversal, item)


class ProofProblemTest(ProofTestCase):
    """What counts as proof that a hook ran, in Mistral's records."""

    def test_the_hooks_own_successful_run_proves_it(self):
        self.ran(BEFORE['task'], BEFORE)
        self.assertIsNone(self.problem(BEFORE))

    def test_missing(self):
        # The hook task removed from the workflow, or not run yet.
        self.assertIn('Mistral has no task web__before__quota',
                      self.problem(BEFORE))

    def test_replayed_from_an_earlier_traversal(self):
        self.ran(BEFORE['task'], BEFORE, traversal='trav-1')
        self.assertIn('no task web__before__quota', self.problem(BEFORE))

    def test_another_nodes_hook(self):
        self.ran('db__before__quota', BEFORE)
        self.assertIn('no task web__before__quota', self.problem(BEFORE))

    def test_another_stacks_hook(self):
        self.ran(BEFORE['task'], BEFORE, stack_id='other-stack')
        self.assertIn('no task web__before__quota', self.problem(BEFORE))

    def test_forged_task_running_another_workflow(self):
        # A definition updated in the traversal's namespace: the task has
        # the hook's name but runs something else, or nothing.
        self.ran(BEFORE['task'], BEFORE, runs=(('SUCCESS', 'std_noop'),))
        self.ran(BEFORE['task'], BEFORE, runs=())
        problem = self.problem(BEFORE)
        self.assertIn('no successful run of workflow quota_wf', problem)
        self.assertIn('std_noop SUCCESS', problem)
        self.assertIn('running no workflow', problem)

    def test_hook_not_succeeded(self):
        self.ran(BEFORE['task'], BEFORE, state='RUNNING')
        self.ran(BEFORE['task'], BEFORE, state='ERROR')
        self.ran(BEFORE['task'], BEFORE,
                 runs=(('ERROR', BEFORE['workflow']),))
        problem = self.problem(BEFORE)
        self.assertIn('RUNNING', problem)
        self.assertIn('quota_wf ERROR', problem)

    def test_one_good_run_among_others_proves_it(self):
        # A task re-run in Heat's own execution: its latest run counts.
        self.ran(BEFORE['task'], BEFORE, state='ERROR')
        self.ran(BEFORE['task'], BEFORE)
        self.assertIsNone(self.problem(BEFORE))

    def test_mistral_down_is_no_proof(self):
        self.ran(BEFORE['task'], BEFORE)
        self.fake.down = True
        self.assertIn('could not be verified', self.problem(BEFORE))
        self.assertEqual(hook_proofs.ATTEMPTS,
                         self.service._client.tasks.list.call_count)


class CheckBeforeTest(ProofTestCase):
    """A node with before hooks acts only with their proof."""

    def setUp(self):
        super().setUp()
        self.request = protocol.NodeRequest(
            action_execution_id='ax', stack_id=self.stack.id,
            traversal=self.traversal, resource_id=7, is_update=True,
            data={}, token='t')
        self.grant = traversal_token.Grant(self.ctx, False, 0, {}, True)

    def check(self, grant=None):
        hook_proofs.check_before(self.ctx, grant or self.grant,
                                 self.request, 'web', self.service)

    def record(self):
        hook_requirements.record(self.ctx, self.stack.id, self.traversal,
                                 {'update:7': [BEFORE, AFTER]})

    def test_refused_without_proof(self):
        self.record()
        exc = self.assertRaises(hook_proofs.Unproven, self.check)
        self.assertEqual(
            'Refused by Heat: operator hook quota before create of resource '
            'web has not succeeded in this traversal of the stack, so the '
            'resource was not touched', str(exc))
        self.assertIn('Mistral has no task web__before__quota', exc.details)

    def test_runs_with_proof_and_after_hooks_do_not_hold_it(self):
        self.record()
        self.ran(BEFORE['task'], BEFORE)
        self.check()

    def test_a_proof_for_an_earlier_traversal_is_refused(self):
        self.record()
        self.ran(BEFORE['task'], BEFORE, traversal='trav-1')
        self.assertRaises(hook_proofs.Unproven, self.check)

    def test_other_nodes_need_nothing(self):
        self.record()
        self.request = dataclasses.replace(self.request, resource_id=8)
        self.check()

    def test_traversal_without_hooks_reads_nothing(self):
        grant = traversal_token.Grant(self.ctx, False, 0, {}, False)
        self.check(grant)
        self.service._client.tasks.list.assert_not_called()

    def test_records_gone_refuse(self):
        # The token says there are hooks, but the row went with the
        # traversal (it ended meanwhile).
        exc = self.assertRaises(hook_proofs.Unproven, self.check)
        self.assertIn('records of this traversal', str(exc))

    def test_requirements_go_with_the_traversal(self):
        self.record()
        sync_point.delete_all(self.ctx, self.stack.id, self.traversal)
        self.assertRaises(hook_requirements.Missing,
                          hook_requirements.Requirements().of, self.ctx,
                          self.traversal)

    def test_recorded_once(self):
        self.record()
        hook_requirements.record(self.ctx, self.stack.id, self.traversal,
                                 {})
        self.assertEqual({'update:7': [BEFORE, AFTER]},
                         hook_requirements.Requirements().of(
                             self.ctx, self.traversal))


class AfterProblemTest(ProofTestCase):
    """A stack with after hooks completes only once they ran."""

    def setUp(self):
        super().setUp()
        hook_requirements.record(self.ctx, self.stack.id, self.traversal,
                                 {'update:7': [BEFORE, AFTER]})
        self.factory = mock.Mock(return_value=self.service)

    def node_ran(self, action):
        request = protocol.NodeRequest(
            action_execution_id='ax', stack_id=self.stack.id,
            traversal=self.traversal, resource_id=7, is_update=True,
            data={}, token='t')
        claims.claim(self.ctx, request, 'engine')
        claims.finish(self.ctx, request, 'engine',
                      output={'node': 'r', 'hook': {'action': action}})

    def problem(self):
        return hook_proofs.after_problem(self.stack, self.traversal,
                                         self.factory)

    def test_missing_after_hook(self):
        self.node_ran('create')
        found = self.problem()
        self.assertIsInstance(found, hook_proofs.Unproven)
        self.assertIn('Operator hook cmdb after create of resource 7 has '
                      'not run successfully', str(found))

    def test_proven(self):
        self.node_ran('create')
        self.ran(AFTER['task'], AFTER)
        self.assertIsNone(self.problem())

    def test_replayed_after_hook_of_an_earlier_traversal(self):
        self.node_ran('create')
        self.ran(AFTER['task'], AFTER, traversal='trav-1')
        self.assertIsNotNone(self.problem())

    def test_not_required_for_what_heat_did_not_do(self):
        # The hook is for create; Heat's own record says the node updated
        # (or did nothing): Mistral is not even asked.
        self.node_ran('update')
        self.assertIsNone(self.problem())
        self.node_ran(None)
        self.assertIsNone(self.problem())
        self.factory.assert_not_called()

    def test_no_record_that_the_node_ran(self):
        found = self.problem()
        self.assertIn('Heat has no record that the resource ran',
                      str(found))

    def test_traversal_without_hooks(self):
        sync_point.delete_all(self.ctx, self.stack.id, self.traversal)
        self.assertIsNone(self.problem())


class CompletionWaitsTest(ProofTestCase):
    """The completion point asks before it marks the stack complete."""

    def test_not_ready_is_not_complete(self):
        sync_point.create(self.ctx, self.stack.id, self.traversal, True,
                          self.stack.id)
        graph = mock.Mock()
        graph.roots.return_value = iter(
            [mock.Mock(rsrc_id=7, is_update=True)])
        self.stack.mark_complete = mock.Mock()
        refused = hook_proofs.Unproven('not yet', 'details')
        exc = self.assertRaises(
            completion.NotReady, completion.root_done, self.stack,
            self.traversal, 7, True, graph, ready=lambda: refused)
        self.assertEqual('not yet', str(exc))
        self.stack.mark_complete.assert_not_called()


class CompleteNodeTest(AfterProblemTest):
    """The last root of a stack whose after hook did not run fails it."""

    def setUp(self):
        super().setUp()
        # Heat's notifications need its RPC transport.
        self.useFixture(base.fixtures.MockPatch(
            'heat.engine.notification.stack.send'))

    def complete(self):
        sync_point.create(self.ctx, self.stack.id, self.traversal, True,
                          self.stack.id)
        graph = mock.Mock()
        graph.roots.side_effect = lambda: iter(
            [types.SimpleNamespace(rsrc_id=7, is_update=True)])
        with mock.patch.object(runner.guard.TRAVERSAL_GRAPHS, 'of',
                               return_value=graph), \
                mock.patch.object(runner.mistral_api, 'MistralService',
                                  return_value=self.service), \
                mock.patch.object(runner.executions,
                                  'traversal_failed') as ended:
            runner.complete_node(self.stack, self.traversal, 7, True)
        return ended

    def test_fails_the_stack_without_the_after_hook(self):
        self.node_ran('create')
        ended = self.complete()
        self.assertEqual(('CREATE', 'FAILED'),
                         (self.stack.action, self.stack.status))
        reason = ('Operator hook cmdb after create of resource 7 has not '
                  'run successfully in this traversal of the stack, so the '
                  'stack is not complete')
        self.assertEqual(reason, self.stack.status_reason)
        ended.assert_called_once_with(self.stack.id, self.traversal, reason)

    def test_completes_the_stack_with_it(self):
        self.node_ran('create')
        self.ran(AFTER['task'], AFTER)
        ended = self.complete()
        self.assertEqual(('CREATE', 'COMPLETE'),
                         (self.stack.action, self.stack.status))
        ended.assert_not_called()
