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

"""Which resource tasks get Mistral's task timeout (heat.conf)."""

from heat_mistral_engine.heat.traversal import starter
from tests.unit import base


class NodeTimeoutsTest(base.TestCase):

    def test_off_by_default_while_the_watchdog_runs(self):
        self.assertFalse(starter.node_timeouts())

    def test_on_when_asked(self):
        self.conf.config(group='mistral_scheduler', node_task_timeout=True)
        self.assertTrue(starter.node_timeouts())

    def test_on_without_the_watchdog(self):
        # Nothing else would end a node that no heat-engine answers.
        self.conf.config(group='mistral_scheduler', watchdog_interval=0)
        self.assertTrue(starter.node_timeouts())
