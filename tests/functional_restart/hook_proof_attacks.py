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

"""Heat enforces operator hooks; Mistral only orders them (issue 28, 3).

Part of test_operator_hooks.OperatorHooksTest (a mixin, so that the cloud
restarts once with the hooks file). Its ``guard_before`` and
``guard_after`` hooks sleep 60 s: the forgery must land while they run,
also on a busy machine (20 s were not enough), and the refused stack's
failure cancels them. While such a hook runs, the test acts as the
service project (who else can reach the generated workflow: a
Mistral admin, or whoever holds the service's credentials) and does what
a Mistral that does not keep Heat's order would: it updates the
traversal's workflow definition, in its namespace, without the hook's
task and starts a second execution of it with the first one's input
(traversal token included). Mistral then runs the node, or the report
that completes the stack, without the hook having succeeded.

* Before hook: heat-engine refuses the node, the resource is never
  touched and the stack fails with one sentence. Before the fix the
  resource was created before its hook had finished.
* After hook: the forged execution reports the node's after hooks done;
  heat-engine does not complete the stack, it fails it. Before the fix
  the stack went CREATE_COMPLETE while its after hook was still running.
"""

import json
import os
import time

import yaml

HOOKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         'operator_hooks')
BEFORE = 'guardb__before__guard_before'
AFTER = 'guarda__after__guard_after'


class HookProofAttacks:
    """Mixed into OperatorHooksTest, whose helpers it uses."""

    def running_task(self, stack_id, task_name, timeout=60):
        """The stack's execution once ``task_name`` runs in it."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            execution = self.running_execution(stack_id)
            for task in self.mistral.tasks.list(
                    workflow_execution_id=execution.id, limit=-1):
                if task.name == task_name and task.state == 'RUNNING':
                    return execution
            time.sleep(0.5)
        self.fail('task %s of stack %s never ran' % (task_name, stack_id))

    def forge(self, execution, edit):
        """Update the traversal's definition with ``edit``; start it again.

        As the service: ``edit(tasks)`` changes the generated workflow's
        tasks in place. Returns the second execution's id.
        """
        found = self.mistral.workflows.get(execution.workflow_id)
        definition = yaml.safe_load(found.definition)
        (name,) = [key for key in definition if key != 'version']
        edit(definition[name]['tasks'])
        self.mistral.workflows.update(
            yaml.safe_dump(definition), id=execution.workflow_id,
            namespace=execution.workflow_namespace)
        forged = self.mistral.executions.create(
            execution.workflow_id,
            workflow_input=json.loads(execution.input),
            description='forged by hook_proof_attacks')
        self.addCleanup(self.stop_quietly, forged.id)
        return forged.id

    def stop_quietly(self, execution_id):
        try:
            self.mistral.executions.update(execution_id, 'CANCELLED')
        except Exception:
            pass   # ended already

    def skip_hooks(self):
        """Both attacks, while the hooks run; (stack ids, forged ids)."""
        before = self.create_stack(os.path.join(HOOKS_DIR, 'guardb.yaml'),
                                   wait=False)
        after = self.create_stack(os.path.join(HOOKS_DIR, 'guarda.yaml'),
                                  wait=False)

        def skip_before(tasks):
            del tasks[BEFORE]
            del tasks[BEFORE + '__failed']

        def skip_after(tasks):
            del tasks[AFTER]
            del tasks[AFTER + '__failed']
            tasks['guarda']['on-success'] = ['guarda__hooks_done']

        forged_before = self.forge(self.running_task(before.id, BEFORE),
                                   skip_before)
        self.forge(self.running_task(after.id, AFTER), skip_after)
        return before.id, after.id, forged_before

    def check_hooks_skipped(self, attacks):
        before, after, forged_before = attacks
        stack = self.wait_for_stack(before)
        self.assertEqual(
            ('CREATE_FAILED',
             'Refused by Heat: operator hook guard_before before create of '
             'resource guardb has not succeeded in this traversal of the '
             'stack, so the resource was not touched'),
            (stack.stack_status, stack.stack_status_reason))
        # Never touched: no CREATE event of the resource.
        self.assertEqual([], [status for name, status in
                              self.events(stack.id) if name == 'guardb'])
        self.assertEqual('INIT_COMPLETE', self.resources(
            stack.id)['guardb'].resource_status)
        # The forged execution's node task was told the refusal.
        tasks = {t.name: t for t in self.mistral.tasks.list(
            workflow_execution_id=forged_before, limit=-1)}
        self.assertEqual('ERROR', tasks['guardb'].state)

        stack = self.wait_for_stack(after)
        self.assertEqual(
            ('CREATE_FAILED',
             'Operator hook guard_after after create of resource guarda has '
             'not run successfully in this traversal of the stack, so the '
             'stack is not complete'),
            (stack.stack_status, stack.stack_status_reason))
        # The resource itself was created (its hook came after it).
        self.assertEqual('CREATE_COMPLETE', self.resources(
            stack.id)['guarda'].resource_status)
