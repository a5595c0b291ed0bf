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

"""The heat.conf default limit of resource actions at once.

The cloud is restarted with ``[mistral_scheduler] max_concurrent_resources
= 2`` (so this runs with the restart tests, serially); the per-stack tag
then overrides it either way.
"""

from tests.functional import base
from tests.functional import test_concurrency_cap as cap
from tests.functional_restart import test_bad_config


class DefaultCapTest(base.FunctionalTest):

    def setUp(self):
        super().setUp()
        self.useFixture(test_bad_config.HeatConfOverlay(
            '[mistral_scheduler]\nmax_concurrent_resources = 2\n'))

    def most_at_once(self, stack):
        events = [(name, status) for name, status in self.events(stack.id)
                  if name in cap.RESOURCES]
        return cap.most_at_once(events, 'CREATE')

    def test_heat_conf_default_and_tags_overriding_it(self):
        # Created together: the cloud restarts once for all three.
        stacks = [self.create_stack(self.template('parallel.yaml'),
                                    wait=False, extra=extra)
                  for extra in ([], ['--tags', '%s=0' % cap.TAG],
                                ['--tags', '%s=3' % cap.TAG])]
        default, unlimited, three = [self.wait_for_stack(s.id)
                                     for s in stacks]
        for stack in (default, unlimited, three):
            self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                             stack.stack_status_reason)
        self.assertEqual(2, self.most_at_once(default))
        self.assertGreater(self.most_at_once(unlimited), 3)
        self.assertEqual(3, self.most_at_once(three))
