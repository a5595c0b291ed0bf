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

"""An update started while the previous update's start still runs.

Two starts of one stack's traversals can run at once in heat-engine. The
older one, superseded while it started, used to cancel the newer one's
execution and delete its workflow definition before that execution was
started: the stack, whose current traversal was the newer one, ended
UPDATE_FAILED "failed to start an execution of <id>: Workflow not found"
(1 run in 6 with the delays below; 0 in 15 after the fix). Only the
traversal the stack's row names may now end others, and definitions are
deleted only once their executions have ended.

The cloud is restarted with the test delays at the plugin's hand-over
points (``handover_delay_max_ms``), without which the starts of two
updates sent 0 to 0.6 s apart do not overlap on this machine. ``ROUNDS``
rounds passing by chance with the old code: about (5/6) ** ROUNDS.
"""

import random
import time

import yaml

from tests.functional import base
from tests.functional_restart import test_bad_config

ROUNDS = 10
WIDTH = 20


def chain_template(value):
    """``WIDTH`` test resources, 4 roots and the rest reading them."""
    resources = {}
    for i in range(WIDTH):
        value_i = '%s-%d' % (value, i)
        if i >= 4:
            value_i = {'str_replace': {
                'template': 'V-P', 'params': {
                    'V': value_i,
                    'P': {'get_attr': ['r%d' % (i % 4), 'output']}}}}
        resources['r%d' % i] = {'type': 'OS::Heat::TestResource',
                                'properties': {'value': value_i}}
    return yaml.safe_dump({
        'heat_template_version': '2021-04-16', 'resources': resources,
        'outputs': {'last': {'value': {
            'get_attr': ['r%d' % (WIDTH - 1), 'output']}}}})


class StartRaceTest(base.FunctionalTest):

    def setUp(self):
        super().setUp()
        self.useFixture(test_bad_config.HeatConfOverlay(
            '[mistral_scheduler]\nhandover_delay_max_ms = 1500\n'))

    def test_update_during_the_start_of_an_update(self):
        created = self.heat.stacks.create(
            stack_name=self.stack_name(), template=chain_template('c'))
        stack_id = created['stack']['id']
        self.addCleanup(self._delete_quietly, stack_id)
        stack = self.wait_for_stack(stack_id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        for round_no in range(ROUNDS):
            self.heat.stacks.update(stack_id,
                                    template=chain_template('a%d' % round_no))
            time.sleep(random.uniform(0.0, 0.6))
            self.heat.stacks.update(stack_id,
                                    template=chain_template('b%d' % round_no))
            # Past Heat's IN_PROGRESS of the second update.
            time.sleep(2)
            stack = self.wait_for_stack(stack_id)
            self.assertEqual('UPDATE_COMPLETE', stack.stack_status,
                             'round %d: %s' % (round_no,
                                               stack.stack_status_reason))
            self.assertEqual({'last': 'b%d-%d-b%d-%d' % (
                round_no, WIDTH - 1, round_no, (WIDTH - 1) % 4)},
                self.outputs(stack_id))
            running = [e.id for e in self.executions(stack_id)
                       if e.state in ('RUNNING', 'PAUSED')]
            self.assertEqual([], running, 'round %d' % round_no)
