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

"""``openstack stack workflow show`` on the cloud in Keystone mode (issue 27).

The stack's executions are the service project's, so the command reads
them through heat-api's workflow view (``heat_mistral_engine.heat.api``),
which Heat's own rules guard. Mixed into ``test_isolation.IsolationTest``,
so that these tests share its one restart into Keystone mode, its
accounts and its stack (user ``demo-a``'s ``slow_chain``, created once):

* the owner, a plain member of its project, sees the tasks, states,
  timings and edges of its stack, and its hooks: an operator hook's task
  and output, an ``OS::Mistral::Hook``'s workflow and execution;
* ``demo-b``, of another project, gets "Stack not found" from the
  command (as ``openstack stack show`` says it) and Heat's 404 from the
  view itself, and nothing of the stack;
* an admin is not shown a workflow that ``demo-b`` named
  ``heat_stack_<stack id>`` in its own project, although Mistral lists
  the admin that execution under that name.
"""

import json
import os

import yaml

from tests.functional import test_user_hooks
from tests.functional_restart import test_operator_hooks

CHAIN = ('first', 'slow', 'after')
SEALED = 'gAAAAA'   # how a Fernet text (token, receipt) starts


class WorkflowViewChecks:
    """Tests of the view; needs IsolationTest's accounts and helpers."""

    def workflow_show(self, account, stack, *more):
        """The command as ``account``; the CompletedProcess."""
        return account.openstack('stack', 'workflow', 'show', stack, *more)

    def shown(self, account, stack):
        proc = self.workflow_show(account, stack, '-f', 'json')
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assertNotIn(SEALED, proc.stdout)
        return json.loads(proc.stdout)

    def test_owner_sees_tasks_states_timings_and_edges(self):
        (execution,) = self.service_executions()
        for stack in (self.stack_id,
                      self.owner.heat().stacks.get(self.stack_id).stack_name):
            shown = self.shown(self.owner, stack)
            self.assertEqual(
                (self.stack_id, self.workflow_name(), execution.id,
                 'SUCCESS'),
                (shown['stack_id'], shown['workflow'], shown['execution'],
                 shown['execution_state']))
            tasks = {t['resource']: t for t in shown['tasks']
                     if t['action'] == 'create/update'}
            self.assertEqual(set(CHAIN), set(tasks))
            for name in CHAIN:
                self.assertEqual('SUCCESS', tasks[name]['state'], name)
                self.assertTrue(tasks[name]['started_at'], name)
                self.assertTrue(tasks[name]['finished_at'], name)
            edges = {(e['from'], e['to']): e['kinds']
                     for e in shown['edges']}
            self.assertIn('get_attr', edges[('first', 'slow')])
            self.assertIn('get_attr', edges[('slow', 'after')])
        dot = self.workflow_show(self.owner, self.stack_id, '--dot')
        self.assertEqual(0, dot.returncode, dot.stderr)
        self.assertIn('"first" -> "slow"', dot.stdout)
        # The view did not open Mistral to the owner.
        self.assert_refused(self.owner, 'workflowv2', 'GET',
                            '/executions/%s' % execution.id)

    def test_another_project_gets_not_found_and_nothing(self):
        (execution,) = self.service_executions()
        name = self.owner.heat().stacks.get(self.stack_id).stack_name
        for stack in (self.stack_id, name):
            proc = self.workflow_show(self.other, stack, '-f', 'json')
            self.assertNotEqual(0, proc.returncode, proc.stdout)
            self.assertIn('Stack not found: %s' % stack, proc.stderr)
            self.assertNotIn(execution.id, proc.stdout + proc.stderr)
            self.assertNotIn('first', proc.stdout + proc.stderr)
        # The view itself, through demo-b's own URL and demo-a's.
        path = '/stacks/%s/%s/workflow' % (name, self.stack_id)
        answer = self.other.request('orchestration', 'GET', path)
        self.assertEqual(404, answer.status_code, answer.text)
        self.assertEqual('EntityNotFound', answer.json()['error']['type'])
        self.assertNotIn(execution.id, answer.text)
        answer = self.other.request(
            'orchestration', 'GET',
            self.owner.endpoint('orchestration') + path)
        self.assertEqual(403, answer.status_code, answer.text)
        self.assertNotIn(execution.id, answer.text)
        # The owner's own request of the same path works.
        answer = self.owner.request('orchestration', 'GET', path)
        self.assertEqual(200, answer.status_code, answer.text)
        self.assertEqual(execution.id,
                         answer.json()['workflow']['execution']['id'])

    def test_admin_is_not_shown_a_tenants_look_alike(self):
        name = self.workflow_name()
        self.other.delete_own_workflows(name)
        squat = yaml.safe_dump({'version': '2.0', name: {
            'input': ['stack_id', 'traversal', 'token'],
            'tasks': {'squatted': {'action': 'std.noop'}}}})
        answer = self.other.request('workflowv2', 'POST',
                                    '/workflows?scope=private', data=squat,
                                    headers={'Content-Type': 'text/plain'})
        self.assertEqual(201, answer.status_code, answer.text)
        squat_id = answer.json()['workflows'][0]['id']
        self.addCleanup(self.other.request, 'workflowv2', 'DELETE',
                        '/workflows/%s' % squat_id)
        # Newer than the stack's, naming the stack and its action as
        # heat-engine's executions do.
        answer = self.other.request('workflowv2', 'POST', '/executions', json={
            'workflow_id': squat_id,
            'description': 'Heat stack x (%s) CREATE, traversal forged'
                           % self.stack_id,
            'input': json.dumps({'stack_id': self.stack_id,
                                 'traversal': 'forged', 'token': 'forged'})})
        self.assertEqual(201, answer.status_code, answer.text)
        squat_ex = answer.json()['id']
        self.addCleanup(self.other.request, 'workflowv2', 'DELETE',
                        '/executions/%s' % squat_ex)
        admin = self.accounts['admin']
        # The trap: looked up by name, Mistral hands the admin both.
        listed = [e.id for e in admin.mistral().executions.list(
            workflow_name=name, limit=-1)]
        self.assertIn(squat_ex, listed)
        (own,) = [e for e in self.service_executions()
                  if e.project_id == self.service.project_id]
        shown = self.shown(admin, self.stack_id)
        self.assertEqual(own.id, shown['execution'])
        self.assertNotEqual('forged', shown['traversal'])
        self.assertEqual(set(CHAIN), {t['resource'] for t in shown['tasks']})
        self.assertNotIn('squatted', json.dumps(shown))

    def test_owner_sees_its_hooks(self):
        # An OS::Mistral::Hook: the user's own workflow, run in the
        # user's project, shown on the hook resource's task.
        name = 'hk_view_%s' % os.urandom(4).hex()
        owner_mistral = self.owner.mistral()
        owner_mistral.workflows.create(test_user_hooks.ECHO % {'name': name})
        self.addCleanup(owner_mistral.workflows.delete, name)
        stack_id = self.create_from(self.owner, yaml.safe_dump(
            test_user_hooks.two_tier(name)))
        self.addCleanup(self.owner.delete_stacks, [stack_id])
        self.assertEqual('CREATE_COMPLETE',
                         self.settled(stack_id).stack_status)
        execution_id = self.owner.heat().resources.get(
            stack_id, 'hook').attributes['execution_id']
        tasks = {(t['resource'], t['action']): t
                 for t in self.shown(self.owner, stack_id)['tasks']}
        self.assertEqual({'workflow': name, 'execution': execution_id,
                          'state': 'SUCCESS'},
                         tasks[('hook', 'create/update')]['hook'])
        # An operator hook: the service's workflow, run as a sub-workflow
        # of the stack's execution; its task and output are shown.
        hook = test_operator_hooks.WORKFLOW
        service = self.service.mistral()
        self.service.delete_own_workflows(hook)
        with open(os.path.join(test_operator_hooks.HOOKS_DIR,
                               hook + '.yaml')) as f:
            service.workflows.create(f.read())
        self.addCleanup(service.workflows.delete, hook)
        with open(test_operator_hooks.HOOKS_DIR + '/data.yaml') as f:
            stack_id = self.create_from(self.owner, f.read())
        self.addCleanup(self.owner.delete_stacks, [stack_id])
        # A dependent starts only after its predecessor's after hooks.
        self.assertEqual('CREATE_COMPLETE',
                         self.settled(stack_id).stack_status)
        tasks = {t['task']: t
                 for t in self.shown(self.owner, stack_id)['tasks']}
        after = tasks['hooked__after__echo_after']
        self.assertEqual(('hooked', 'hook after: echo_after', 'SUCCESS'),
                         (after['resource'], after['action'],
                          after['state']))
        # One item per run (the hook task runs with-items): this one.
        (output,) = after['output']
        self.assertEqual('echo', output['mode'])
        self.assertEqual('hooked', output['seen']['name'])
        self.assertEqual('hook before: echo_before',
                         tasks['hooked__before__echo_before']['action'])
