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

"""Reading a task name back to its node (``naming.read_node_task``)."""

import random

import testtools

from heat_mistral_engine.graph import model
from heat_mistral_engine.graph import naming
from heat_mistral_engine.graph import workflow
from tests.unit.graph import test_workflow


class ReadNodeTaskTest(testtools.TestCase):

    def test_plain_and_generated_names(self):
        read = naming.read_node_task
        self.assertEqual(naming.NodeTask(True, resource_name='web'),
                         read('web'))
        self.assertEqual(naming.NodeTask(False, resource_name='web'),
                         read('web_cleanup'))
        self.assertEqual(naming.NodeTask(True, resource_id=12),
                         read('x_5_12'))
        self.assertEqual(naming.NodeTask(False, resource_id=7),
                         read('resource_7_cleanup'))
        self.assertEqual(naming.NodeTask(True, resource_name='a-b_c'),
                         read('a-b_c'))

    def test_other_tasks_are_not_node_tasks(self):
        for name in ('web__before__audit', 'web__before__audit__failed',
                     'web__hooks_done', 'fail', 'x{{ 1 }}', '', None,
                     '_web', 'web_', 'a' * 200):
            self.assertIsNone(naming.read_node_task(name), name)

    def test_every_generated_node_task_reads_back_to_its_node(self):
        # The graphs of the naming test: colliding names, names that look
        # generated, expressions, Unicode, long names.
        rnd = random.Random(6)
        for _graph in range(2000):
            nodes, _text = test_workflow.random_nodes(rnd)
            names = workflow.task_names(model.TaskGraph(nodes))
            for node in nodes:
                found = naming.read_node_task(names[node.key])
                self.assertIsNotNone(found, names[node.key])
                self.assertEqual(node.is_update, found.is_update)
                if found.resource_id is not None:
                    self.assertEqual(node.resource_id, found.resource_id)
                else:
                    self.assertEqual(node.resource_name,
                                     found.resource_name)
                    # A plain name is one node's of its kind only.
                    self.assertEqual(1, sum(
                        n.resource_name == node.resource_name and
                        n.is_update == node.is_update for n in nodes))

    def test_failure_report_tasks(self):
        self.assertTrue(naming.is_failure_task(
            naming.failure_task('web__before__audit')))
        self.assertFalse(naming.is_failure_task('web__before__audit'))
        self.assertFalse(naming.is_failure_task('failed'))
        self.assertFalse(naming.is_failure_task(None))
