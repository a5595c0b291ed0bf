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

"""Action sequences whose traversals follow each other within a second.

Issue 23: create, an update that replaces one resource, adds one and
removes one, an update that fails with rollback enabled, then delete.
Native Heat ends it correctly every time; the plugin ended about one run
in two ROLLBACK_FAILED ("Mistral passed data for 'cleanup:N', which
resource M (cleanup) does not depend on") or, after the rollback,
DELETE_FAILED ("resource N (create/update) is not a node of traversal T").
The cause: each traversal updated the stack's one workflow definition in
place, and Mistral's engine caches a parsed definition by (id,
``updated_at`` in whole seconds), so a rollback started within the second
of the failed update ran the update's graph. Each traversal now gets a
definition of its own.

The timing cannot be forced from outside, so each test repeats the
sequence: with the old code 4 runs in 5 failed on the 2-core development
machine, so ``ROUNDS`` rounds all passing by chance had a probability of
about 0.2 ** ROUNDS (``LIFECYCLE_RACE_ROUNDS`` in the environment sets
ROUNDS: issue 23 asks for 20 runs in 20). The calls go through Heat's
API (heatclient), as the CLI's do, but without the CLI's start-up time,
which would space the steps out and hide the race.
"""

import os
import time

from tests.functional import base

PARITY_TEMPLATES = os.path.join(os.path.dirname(__file__), os.pardir,
                                'parity', 'templates')
ROUNDS = int(os.environ.get('LIFECYCLE_RACE_ROUNDS', '5'))


def _template(name):
    with open(os.path.join(PARITY_TEMPLATES, name)) as f:
        return f.read()


class LifecycleRaceTest(base.FunctionalTest):

    def assert_status(self, expected, stack_id):
        stack = self.settle(stack_id, action=expected.split('_', 1)[0],
                            timeout=240, poll=0.3)
        self.assertIsNotNone(stack, 'stack %s was deleted' % stack_id)
        self.assertEqual(expected, stack.stack_status,
                         stack.stack_status_reason)
        return stack

    def assert_deleted(self, stack_id):
        stack = self.settle(stack_id, timeout=240, poll=0.3)
        self.assertIsNone(stack, stack and '%s: %s' % (
            stack.stack_status, stack.stack_status_reason))
        # Heat deletes the stack when its last node is done; that node's
        # report ends the execution a moment later (0.2 s seen in CI).
        deadline = time.time() + 30
        while True:
            running = [e.id for e in self.executions(stack_id)
                       if e.state in ('RUNNING', 'PAUSED')]
            if not running or time.time() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual([], running)

    def start_sequence(self, round_no):
        """Create, then replace a, add e and remove n; the stack id."""
        created = self.heat.stacks.create(
            stack_name='%s-%d' % (self.stack_name(), round_no),
            template=_template('chain.yaml'), disable_rollback=True)
        stack_id = created['stack']['id']
        self.addCleanup(self._delete_quietly, stack_id)
        self.assert_status('CREATE_COMPLETE', stack_id)
        self.heat.stacks.update(
            stack_id, template=_template('chain_v2.yaml'),
            parameters={'replace_value': 'r2'}, disable_rollback=True)
        self.assert_status('UPDATE_COMPLETE', stack_id)
        return stack_id

    def fail_update(self, stack_id):
        """An update that replaces a again and fails b: Heat rolls back."""
        self.heat.stacks.update(
            stack_id, template=_template('chain_v2.yaml'),
            parameters={'replace_value': 'r3', 'fail_b': True,
                        'greeting': 'again'},
            disable_rollback=False)

    def test_failed_update_rolls_back_then_deletes(self):
        for round_no in range(ROUNDS):
            stack_id = self.start_sequence(round_no)
            self.fail_update(stack_id)
            stack = self.assert_status('ROLLBACK_COMPLETE', stack_id)
            self.assertEqual('Stack ROLLBACK completed successfully',
                             stack.stack_status_reason)
            outputs = {o['output_key']: o['output_value'] for o in
                       self.heat.stacks.get(stack_id).outputs}
            # The values of the update before the failed one.
            self.assertEqual('hello', outputs['a'])
            self.assertEqual('hello-b2', outputs['b'])
            self.heat.stacks.delete(stack_id)
            self.assert_deleted(stack_id)

    def test_delete_while_rolling_back(self):
        for round_no in range(ROUNDS):
            stack_id = self.start_sequence(round_no)
            self.fail_update(stack_id)
            deadline = time.time() + 60
            while (self.heat.stacks.get(stack_id).stack_status !=
                   'ROLLBACK_IN_PROGRESS' and time.time() < deadline):
                time.sleep(0.1)
            self.heat.stacks.delete(stack_id)
            self.assert_deleted(stack_id)
