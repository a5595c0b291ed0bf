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

"""Tenants run the heat.* actions themselves (issue 28, item 2).

Part of test_isolation.IsolationTest (a mixin, so that the class enters
Keystone mode once): ``demo-b``, an ordinary member of another project,
holds everything a generated task of ``demo-a``'s running stack gives its
action, traversal token and sealed receipts included (read here as the
service; issue 28 found ways to copy them out of Mistral), and runs

* ``openstack action execution run heat.run_node '{...}'`` and
  ``... heat.hook_report '{...}'`` (a failed operator hook: heat-engine
  would fail the stack for it);
* a workflow of its own named ``heat_stack_<stack id>``, in a namespace
  named after the traversal, whose tasks run both actions with that
  input.

Each action execution must end ERROR with the refusal, nothing may reach
a heat-engine (their logs name none of these action executions and no
hook report), and the stack completes as if nothing happened. Before the
check, the requests reached heat-engine and the forged hook report failed
the stack.
"""

import json
import time

import yaml

from tests.functional_restart import faults

REFUSAL = 'Refused by heat-mistral-engine: %s acts only as a task of a ' \
          'workflow execution that heat-engine generated'
ENDED = ('SUCCESS', 'ERROR', 'CANCELLED')


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


class HeatActionAttacks:
    """Mixed into IsolationTest, whose helpers and accounts it uses."""

    def engine_log_marks(self):
        return {name: len(text)
                for name, text in faults.engine_logs().items()}

    def engine_log_since(self, marks):
        """What the heat-engines logged since ``marks``."""
        return ''.join(text[marks.get(name, 0):]
                       for name, text in faults.engine_logs().items())

    def ended(self, account, path, timeout=120):
        """GET ``path`` as ``account`` until its state ended; the JSON."""
        deadline = time.time() + timeout
        while True:
            answer = account.request('workflowv2', 'GET', path)
            self.assertEqual(200, answer.status_code, answer.text)
            found = answer.json()
            if found['state'] in ENDED or time.time() > deadline:
                return found
            time.sleep(1)

    def assert_refused_action(self, found, action_name, words):
        self.assertEqual('ERROR', found['state'], found)
        output = json.dumps(_json(found.get('output')))
        self.assertIn(REFUSAL % action_name, output)
        self.assertIn(words, output)

    def stolen_inputs(self, stack_id):
        """(node input, hook report input) a tenant could forge."""
        action = self.running_action(stack_id)
        node = _json(action.input)
        node.pop('resource_name', None)
        report = {key: node[key] for key in (
            'stack_id', 'traversal', 'token', 'resource_id', 'is_update')}
        report.update(hook='forged', when='before', action='create',
                      error='forged by demo-b')
        return node, report

    def test_users_cannot_run_the_heat_actions(self):
        stack_id = self.create('four', 30, block=False)
        node, report = self.stolen_inputs(stack_id)
        marks = self.engine_log_marks()
        attacker = self.other
        action_ids = []

        # Ad hoc, through the CLI. heat.hook_report is synchronous:
        # Mistral runs it during the request and the CLI prints its
        # output.
        proc = attacker.openstack('action', 'execution', 'run',
                                  'heat.hook_report', json.dumps(report))
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assertIn(REFUSAL % 'heat.hook_report', proc.stdout)
        self.assertIn('run on its own', proc.stdout)
        # heat.run_node is asynchronous: saved, it ends ERROR at once.
        proc = attacker.openstack('action', 'execution', 'run', '-s',
                                  '-f', 'json', 'heat.run_node',
                                  json.dumps(node))
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        run = json.loads(proc.stdout)
        action_ids.append(run['ID'])
        found = self.ended(attacker, '/action_executions/%s' % run['ID'])
        self.assert_refused_action(found, 'heat.run_node', 'run on its own')

        # A workflow of the attacker's own, named and placed like the
        # generated one.
        name = 'heat_stack_%s' % stack_id
        squat = yaml.safe_dump({'version': '2.0', name: {'tasks': {
            'node': {'action': 'heat.run_node', 'input': node},
            'report': {'action': 'heat.hook_report', 'input': report}}}})
        answer = attacker.request(
            'workflowv2', 'POST', '/workflows?scope=private&namespace=%s'
            % node['traversal'], data=squat,
            headers={'Content-Type': 'text/plain'})
        self.assertEqual(201, answer.status_code, answer.text)
        squat_id = answer.json()['workflows'][0]['id']
        self.addCleanup(attacker.request, 'workflowv2', 'DELETE',
                        '/workflows/%s' % squat_id)
        answer = attacker.request('workflowv2', 'POST', '/executions',
                                  json={'workflow_id': squat_id})
        self.assertEqual(201, answer.status_code, answer.text)
        execution = self.ended(attacker,
                               '/executions/%s' % answer.json()['id'])
        self.addCleanup(attacker.request, 'workflowv2', 'DELETE',
                        '/executions/%s' % execution['id'])
        self.assertEqual('ERROR', execution['state'])
        self.assertEqual(node['traversal'], execution['workflow_namespace'])
        tasks = attacker.request(
            'workflowv2', 'GET', '/tasks?workflow_execution_id=%s'
            % execution['id']).json()['tasks']
        self.assertEqual({'node', 'report'}, {t['name'] for t in tasks})
        for task in tasks:
            (found,) = attacker.request(
                'workflowv2', 'GET', '/tasks/%s/action_executions'
                % task['id']).json()['action_executions']
            action_ids.append(found['id'])
            found = self.ended(attacker,
                               '/action_executions/%s' % found['id'])
            self.assert_refused_action(
                found, 'heat.%s' % ('run_node' if task['name'] == 'node'
                                    else 'hook_report'),
                'belongs to another project than Heat\'s service project')

        # Nothing reached a heat-engine: every node request is logged with
        # its action execution, every hook report with "hook report".
        time.sleep(2)
        logged = self.engine_log_since(marks)
        for action_id in action_ids:
            self.assertNotIn(action_id, logged)
        self.assertNotIn('hook report', logged)
        self.assertNotIn('forged', logged)
        self.assert_stack_correct(stack_id, 'four', 'CREATE_COMPLETE')
