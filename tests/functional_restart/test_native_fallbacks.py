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

"""Traversals Heat runs itself are left alone by the orphan check.

Issue 23: snapshot, restore, check, suspend, resume, abandon, adopt and
the delete of a stack with snapshots stay on Heat's native path
(``traversal.starter.handles``); no Mistral execution exists for them, so
an orphan check that judged them would find "a stack IN_PROGRESS with no
running execution" and fail it. It judges only traversals the plugin
marked (``store.traversal_mark``). The cloud is restarted with the orphan
check and the watchdog every 5 s and a 10 s grace period, and the slow
native steps last 25 s, so each is seen IN_PROGRESS by several checks.
"""

import json
import os
import time

import yaml

from tests.functional import base
from tests.functional_restart import test_bad_config

SLOW = 25
ORPHAN_SETTINGS = '''[DEFAULT]
enable_stack_abandon = true
enable_stack_adopt = true
[mistral_scheduler]
orphan_check_interval = 5
orphan_grace_period = 10
watchdog_interval = 5
'''


def template(value, slow=SLOW):
    """Three test resources whose update and delete take ``slow`` s."""
    resources = {
        'r%d' % i: {'type': 'OS::Heat::TestResource', 'properties': {
            'value': '%s-%d' % (value, i),
            'action_wait_secs': {'create': 0, 'update': slow,
                                 'delete': slow}}}
        for i in range(3)}
    return yaml.safe_dump({'heat_template_version': '2021-04-16',
                           'resources': resources})


class NativeFallbackTest(base.FunctionalTest):

    def setUp(self):
        super().setUp()
        self.useFixture(test_bad_config.HeatConfOverlay(ORPHAN_SETTINGS))

    def assert_status(self, expected, stack_id):
        stack = self.settle(stack_id)
        self.assertEqual(expected, stack and stack.stack_status,
                         stack and stack.stack_status_reason)

    def engine_log(self):
        with open(os.path.join(os.environ['DEVCLOUD_DIR'], 'logs',
                               'heat-engine-1.log')) as f:
            return f.read()

    def assert_not_touched(self, stack_id, mistral_actions):
        """No orphan repair of the stack, and only the plugin's executions.

        ``mistral_actions``: the actions of the stack's Mistral executions,
        in order (the native steps have none).
        """
        orphans = [line for line in self.engine_log().splitlines()
                   if 'Orphan' in line and stack_id in line]
        self.assertEqual([], orphans)
        executions = sorted(self.executions(stack_id),
                            key=lambda e: e.created_at)
        self.assertEqual(mistral_actions,
                         [e.description.split(') ', 1)[1].split(',')[0]
                          for e in executions])

    def test_snapshot_restore_check_suspend_resume_and_delete(self):
        stack_id = self.heat.stacks.create(
            stack_name=self.stack_name(),
            template=template('v1'))['stack']['id']
        self.addCleanup(self._delete_quietly, stack_id)
        self.assert_status('CREATE_COMPLETE', stack_id)
        snapshot = self.heat.stacks.snapshot(stack_id, 'before-v2')
        deadline = time.time() + 120
        while self.heat.stacks.snapshot_show(
                stack_id, snapshot['id'])['snapshot']['status'] == \
                'IN_PROGRESS':
            self.assertLess(time.time(), deadline, 'snapshot still running')
            time.sleep(1)
        self.assert_status('SNAPSHOT_COMPLETE', stack_id)
        self.heat.stacks.update(stack_id, template=template('v2'))
        self.assert_status('UPDATE_COMPLETE', stack_id)
        # Native and slow: each resource's value goes back to v1.
        self.heat.stacks.restore(stack_id, snapshot['id'])
        self.assert_status('RESTORE_COMPLETE', stack_id)
        for action, status in (('check', 'CHECK_COMPLETE'),
                               ('suspend', 'SUSPEND_COMPLETE'),
                               ('resume', 'RESUME_COMPLETE')):
            getattr(self.heat.actions, action)(stack_id)
            self.assert_status(status, stack_id)
        # A stack with snapshots is deleted natively, slowly.
        self.heat.stacks.delete(stack_id)
        self.assert_status(None, stack_id)
        self.assert_not_touched(stack_id, ['CREATE', 'UPDATE'])

    def test_abandon_then_adopt(self):
        stack_id = self.heat.stacks.create(
            stack_name=self.stack_name(),
            template=template('a', slow=0))['stack']['id']
        self.addCleanup(self._delete_quietly, stack_id)
        self.assert_status('CREATE_COMPLETE', stack_id)
        data = self.heat.stacks.abandon(stack_id)
        self.assert_status(None, stack_id)
        adopted = self.heat.stacks.create(
            stack_name=self.stack_name(), template=template('a', slow=0),
            adopt_stack_data=json.dumps(data))['stack']['id']
        self.addCleanup(self._delete_quietly, adopted)
        self.assert_status('ADOPT_COMPLETE', adopted)
        self.assertEqual(
            sorted(r['resource_id'] for r in data['resources'].values()),
            sorted(r.physical_resource_id
                   for r in self.heat.resources.list(adopted)))
        # Heat's adopt ran natively; the delete after it is the plugin's.
        self.heat.stacks.delete(adopted)
        self.assert_status(None, adopted)
        self.assert_not_touched(stack_id, ['CREATE'])
        self.assert_not_touched(adopted, ['DELETE'])
