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

"""Turning the plugin off with stacks in flight, and on again.

What doc/source/upgrade.rst tells operators, on the real local cloud:

* turned off (``[mistral_scheduler] enabled = false``, heat-engine
  restarted) while Mistral orders a create, the stack stays
  CREATE_IN_PROGRESS and its Mistral execution RUNNING: no heat-engine
  takes its nodes any more;
* ``openstack stack update --existing`` then finishes it natively, with no
  new Mistral execution;
* turned on again, new stacks are Mistral's; a stack still in flight from
  before is recovered by ``update --existing``, through Mistral, which
  cancels the execution left behind; stacks from before (either kind) are
  updated and deleted through Mistral.

Two restarts (off, on); the resource that spans the restart waits
``SLOW`` s and is replaced by a 1 s one when recovered, so the test takes
about the two restarts plus a minute.
"""

import os

import yaml

from tests.functional import base
from tests.functional_restart import faults

PLUGIN_OFF = '[mistral_scheduler]\nenabled = false\n'
OVERLAY = '90-disable-enable.conf'
# Longer than a restart of the cloud: the resource is still being created
# by the engine that the restart stops.
SLOW = 600
TEMPLATE = yaml.safe_dump({
    'heat_template_version': '2021-04-16',
    'parameters': {'wait': {'type': 'number', 'default': SLOW},
                   'value': {'type': 'string', 'default': 'v1'}},
    'resources': {
        'a': {'type': 'OS::Heat::TestResource', 'properties': {
            'value': {'get_param': 'value'},
            'action_wait_secs': {'create': {'get_param': 'wait'},
                                 'update': 1, 'delete': 1}}},
        'b': {'type': 'OS::Heat::TestResource', 'properties': {
            'value': {'get_attr': ['a', 'output']}}}},
    'outputs': {'b': {'value': {'get_attr': ['b', 'output']}}}})


class DisableEnableTest(base.FunctionalTest):

    def setUp(self):
        super().setUp()
        # Put the cloud back as it was if the test ends with the plugin off.
        self.addCleanup(self._plugin_back_on)

    def _plugin_back_on(self):
        path = faults.dc_path('etc', 'heat.conf.d', OVERLAY)
        if os.path.exists(path):
            os.unlink(path)
            faults.devcloud('restart')

    def create(self, **params):
        stack_id = self.heat.stacks.create(
            stack_name=self.stack_name(), template=TEMPLATE,
            parameters=params)['stack']['id']
        self.addCleanup(self._delete_quietly, stack_id)
        return stack_id

    def assert_settles(self, stack_id, expected):
        stack = self.settle(stack_id)
        self.assertEqual(expected, stack and stack.stack_status,
                         stack and stack.stack_status_reason)

    def states(self, stack_id):
        return [e.state for e in self.executions(stack_id)]

    def test_disable_mid_create_then_enable(self):
        # Two creates ordered by Mistral, their first resource running.
        natively, later = self.create(), self.create()
        for stack_id in (natively, later):
            self.wait_resource(stack_id, 'a', 'CREATE_IN_PROGRESS')
            self.assertEqual(['RUNNING'], self.states(stack_id))

        # Off: heat-engine restarted with enabled = false.
        faults.overlay(PLUGIN_OFF, OVERLAY)
        faults.devcloud('restart')
        for stack_id in (natively, later):
            stack = self.heat.stacks.get(stack_id, resolve_outputs=False)
            self.assertEqual('CREATE_IN_PROGRESS', stack.stack_status)
            self.assertEqual(['RUNNING'], self.states(stack_id))
        # Heat finishes one natively: a (its engine gone) is created again.
        self.heat.stacks.update(natively, existing=True,
                                parameters={'wait': 1})
        self.assert_settles(natively, 'UPDATE_COMPLETE')
        self.assertEqual({'b': 'v1'}, self.outputs(natively))
        self.assertEqual(1, len(self.executions(natively)))

        # On again.
        faults.overlay(None, OVERLAY)
        faults.devcloud('restart')
        # The stack left in flight, first (before the watchdog takes its
        # node over): recovered through Mistral, whose new traversal
        # cancels the execution left behind.
        self.heat.stacks.update(later, existing=True,
                                parameters={'wait': 1})
        new = self.create(wait=1)
        self.assert_settles(later, 'UPDATE_COMPLETE')
        self.assertEqual(['CANCELLED', 'SUCCESS'], self.states(later))
        self.assert_settles(new, 'CREATE_COMPLETE')
        self.assertEqual(['SUCCESS'], self.states(new))
        # The stack Heat finished: updated through Mistral, which cancels
        # the execution left behind from before the plugin was off.
        self.heat.stacks.update(natively, existing=True,
                                parameters={'value': 'v2'})
        self.assert_settles(natively, 'UPDATE_COMPLETE')
        self.assertEqual({'b': 'v2'}, self.outputs(natively))
        self.assertEqual(['CANCELLED', 'SUCCESS'], self.states(natively))
        for stack_id in (natively, later, new):
            self.heat.stacks.delete(stack_id)
        for stack_id in (natively, later, new):
            self.assert_settles(stack_id, None)
