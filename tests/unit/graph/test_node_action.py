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

"""What makes an action execution a node's own (graph.node_action)."""

import testtools

from heat_mistral_engine.graph import node_action

NODE = {'stack_id': 's1', 'traversal': 't1', 'resource_id': 4,
        'is_update': True}
OWN = dict(action_name='heat.run_node', task_execution_id='task-1',
           workflow_name='heat_stack_s1', workflow_namespace='t1',
           action_input=dict(NODE, token='t', data={'update:3': 'r'}))


class ProblemTest(testtools.TestCase):

    def problem(self, **changes):
        return node_action.problem(NODE, **dict(OWN, **changes))

    def test_the_node_s_own_action_execution(self):
        self.assertIsNone(self.problem())

    def test_anything_else_is_named(self):
        for changes, words in (
                (dict(action_name='std.echo'), "'std.echo', not "
                                               "heat.run_node"),
                (dict(task_execution_id=None), 'ad-hoc'),
                (dict(workflow_name='heat_stack_s2'), "'heat_stack_s2'"),
                (dict(workflow_name='heat_stack_s1x'), "'heat_stack_s1x'"),
                (dict(workflow_namespace=''), "namespace ''"),
                (dict(workflow_namespace=None), 'namespace None'),
                (dict(action_input=dict(NODE, resource_id=5)),
                 'resource_id differ'),
                (dict(action_input=dict(NODE, is_update=False)),
                 'is_update differ'),
                (dict(action_input=dict(NODE, is_update=1)),
                 'is_update differ'),
                (dict(action_input=dict(NODE, stack_id='s2')),
                 'stack_id differ'),
                (dict(action_input=dict(NODE, traversal='t0')),
                 'traversal differ'),
                (dict(action_input=None),
                 'is_update, resource_id, stack_id, traversal differ'),
                (dict(action_input='{"stack_id": "s1"}'), 'differ')):
            problem = self.problem(**changes)
            self.assertIsNotNone(problem, changes)
            self.assertIn(words, problem, changes)

    def test_garbage_is_cut_short(self):
        problem = self.problem(action_name='x' * 10000)
        self.assertLess(len(problem), 200)
