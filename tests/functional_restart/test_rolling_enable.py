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

"""Turning the plugin on: stacks from before, and engines that differ.

Issue 23: the orphan check and the watchdog never touch traversals the
plugin did not start. Two situations of an operator enabling the plugin:

* stacks created while it was off are updated and deleted once it is on
  (their first traversals were Heat's; the next ones are Mistral's);
* a rolling enable: one heat-engine has ``[mistral_scheduler] enabled =
  true``, the other not yet, so each stack action goes to Mistral or
  stays native depending on which engine takes it, and the native
  traversals' resources are checked by either engine.

Every stack must end as it would on native Heat, with the orphan check
and the watchdog running every 5 s (10 s grace): no orphan repair, and
nothing left IN_PROGRESS.
"""


import yaml

from tests.functional import base
from tests.functional_restart import faults

FAST_CHECKS = ('[mistral_scheduler]\norphan_check_interval = 5\n'
               'orphan_grace_period = 10\nwatchdog_interval = 5\n')
PLUGIN_OFF = '[mistral_scheduler]\nenabled = false\n'
STACKS = 6
SLOW = 12


def template(value):
    """A small chain whose update takes ``SLOW`` s: past a grace period."""
    return yaml.safe_dump({
        'heat_template_version': '2021-04-16',
        'resources': {
            'a': {'type': 'OS::Heat::TestResource', 'properties': {
                'value': value,
                'action_wait_secs': {'create': 1, 'update': SLOW,
                                     'delete': 1}}},
            'b': {'type': 'OS::Heat::TestResource', 'properties': {
                'value': {'get_attr': ['a', 'output']}}}},
        'outputs': {'b': {'value': {'get_attr': ['b', 'output']}}}})


def engine_overlay(engine, text):
    """Write (None: remove) a heat.conf.d file of heat-engine-``engine``."""
    faults.overlay(text, '90-rolling.conf', 'heat-engine-%d.conf.d' % engine)


class RollingEnableTest(base.FunctionalTest):

    def setUp(self):
        super().setUp()
        self.addCleanup(faults.devcloud, 'restart', '--engines', '1')
        self.addCleanup(faults.overlay, None, '90-rolling.conf')
        self.addCleanup(engine_overlay, 2, None)
        self.addCleanup(engine_overlay, 1, None)
        faults.overlay(FAST_CHECKS, '90-rolling.conf')

    def all_settle(self, stack_ids, expected, value=None):
        for stack_id in stack_ids:
            stack = self.settle(stack_id)
            self.assertEqual(expected, stack and stack.stack_status,
                             stack and stack.stack_status_reason)
            if value is not None:
                self.assertEqual({'b': value}, self.outputs(stack_id))

    def assert_no_orphans(self, stack_ids, engines):
        for engine in range(1, engines + 1):
            with open(faults.dc_path('logs', 'heat-engine-%d.log'
                                     % engine)) as f:
                orphans = [line for line in f
                           if 'Orphan' in line and
                           any(s in line for s in stack_ids)]
            self.assertEqual([], orphans)

    def create(self, value):
        ids = [self.heat.stacks.create(
            stack_name='%s-%d' % (self.stack_name(), i),
            template=template(value))['stack']['id'] for i in range(STACKS)]
        for stack_id in ids:
            self.addCleanup(self._delete_quietly, stack_id)
        return ids

    def update_and_delete(self, ids, value):
        for stack_id in ids:
            self.heat.stacks.update(stack_id, template=template(value))
        self.all_settle(ids, 'UPDATE_COMPLETE', value)
        for stack_id in ids:
            self.heat.stacks.delete(stack_id)
        self.all_settle(ids, None)

    def test_stacks_from_before_the_enable_and_a_rolling_enable(self):
        # The plugin off everywhere: Heat's own traversals.
        engine_overlay(1, PLUGIN_OFF)
        faults.devcloud('restart', '--engines', '1')
        before = self.create('v1')
        self.all_settle(before, 'CREATE_COMPLETE', 'v1')
        self.assertEqual([], [s for s in before if self.executions(s)])
        # Rolling enable: engine 1 has it on, engine 2 not yet.
        engine_overlay(1, None)
        engine_overlay(2, PLUGIN_OFF)
        faults.devcloud('restart', '--engines', '2')
        rolling = self.create('r1')
        self.all_settle(rolling, 'CREATE_COMPLETE', 'r1')
        self.update_and_delete(before + rolling, 'v2')
        # Each engine took some of the actions (update and delete of the
        # stacks from before, create, update and delete of the others):
        # some went to Mistral, some stayed Heat's.
        driven = sum(len(self.executions(s)) for s in before + rolling)
        self.assertGreater(driven, 0)
        self.assertLess(driven, STACKS * 5)
        self.assert_no_orphans(before + rolling, engines=2)
