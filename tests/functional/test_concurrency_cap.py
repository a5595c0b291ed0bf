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

"""The per-stack limit of resource actions at once, on the real cloud.

The limit is set with the stack tag ``mistral_max_concurrent_resources``;
the cloud's heat.conf keeps the default (unlimited). What ran at once is
read back from Heat's events: a resource's action runs from its
``*_IN_PROGRESS`` event to its ``*_COMPLETE`` (or ``*_FAILED``) event.
"""

from tests.functional import base

TAG = 'mistral_max_concurrent_resources'
RESOURCES = ['r%d' % i for i in range(8)]


def most_at_once(events, action):
    """The largest number of resources whose ``action`` ran at once."""
    running, most = set(), 0
    for name, status in events:
        if status == '%s_IN_PROGRESS' % action:
            running.add(name)
            most = max(most, len(running))
        elif status in ('%s_COMPLETE' % action, '%s_FAILED' % action):
            running.discard(name)
    return most


class ConcurrencyCapTest(base.FunctionalTest):

    def resource_events(self, stack_id):
        return [(name, status) for name, status in self.events(stack_id)
                if name in RESOURCES]

    def test_tag_caps_resource_actions_at_once(self):
        stack = self.create_stack(self.template('parallel.yaml'),
                                  extra=['--tags', '%s=2' % TAG])
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        events = self.resource_events(stack.id)
        self.assertEqual(sorted(RESOURCES), sorted(
            name for name, status in events if status == 'CREATE_COMPLETE'))
        # Never more than 2, and 2 did run together (the cap is not 1).
        self.assertEqual(2, most_at_once(events, 'CREATE'), events)
        self.assert_tasks_succeeded(stack.id, RESOURCES)

        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack.id))
        events = self.resource_events(stack.id)
        self.assertEqual(2, most_at_once(events, 'DELETE'), events)

    def test_without_a_limit_more_run_at_once(self):
        stack = self.create_stack(self.template('parallel.yaml'))
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertGreater(
            most_at_once(self.resource_events(stack.id), 'CREATE'), 2)

    def test_update_can_change_the_limit(self):
        stack = self.create_stack(self.template('parallel.yaml'),
                                  extra=['--tags', '%s=3' % TAG])
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual(3, most_at_once(self.resource_events(stack.id),
                                         'CREATE'))
        # --existing keeps the template; the new tag applies to the update
        # and to everything after it (here: the delete).
        base.openstack('stack', 'update', '--existing', '--wait', '--tags',
                       '%s=1' % TAG, stack.id, parse=False)
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack.id))
        self.assertEqual(1, most_at_once(self.resource_events(stack.id),
                                         'DELETE'))

    def test_bad_tag_is_refused_naming_it(self):
        name = self.stack_name()
        proc = base.openstack('stack', 'create', '-t',
                              self.template('parallel.yaml'), '--tags',
                              '%s=two' % TAG, name, check=False)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('%s=two is invalid' % TAG, proc.stderr)
        self.assertEqual([], [s for s in self.heat.stacks.list()
                              if s.stack_name == name])

    def test_bad_tag_is_refused_on_update(self):
        stack = self.create_stack(self.template('chain.yaml'),
                                  params={'seed': 's1'})
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        proc = base.openstack('stack', 'update', '--existing', '--tags',
                              '%s=-1' % TAG, stack.id, check=False)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('%s=-1 is invalid' % TAG, proc.stderr)
        stack = self.heat.stacks.get(stack.id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status)
