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

"""The per-traversal cache of stored graphs (roots, requirements)."""

from unittest import mock

from heat.engine import dependencies

from heat_mistral_engine.heat.node import guard as node_guard
from heat_mistral_engine.heat.node import runner as node_runner
from tests.unit import base


class CountingStack:
    """A stack whose graph counts how often it is built."""

    def __init__(self, stack_id, edges):
        self.id = stack_id
        self.edges = edges
        self.builds = 0

    @property
    def convergence_dependencies(self):
        self.builds += 1
        return dependencies.Dependencies(edges=self.edges)


class TraversalGraphsTest(base.TestCase):

    def test_roots_are_heats_and_built_once_per_traversal(self):
        # b requires a, c requires b; d stands alone.
        stack = CountingStack('s1', [('b', 'a'), ('c', 'b'), ('d', None)])
        cache = node_guard.TraversalGraphs()
        first = cache.of(stack, 't1')
        again = cache.of(stack, 't1')
        self.assertEqual({'c', 'd'}, set(first.roots()))
        self.assertEqual(set(stack.convergence_dependencies.roots()),
                         set(again.roots()))
        self.assertEqual(2, stack.builds)   # once cached + once above

    def test_other_traversal_is_computed_anew(self):
        stack = CountingStack('s1', [('b', 'a')])
        cache = node_guard.TraversalGraphs()
        cache.of(stack, 't1')
        stack.edges = [('a', 'b')]
        self.assertEqual({'a'}, set(cache.of(stack, 't2').roots()))
        self.assertEqual({'b'}, set(cache.of(stack, 't1').roots()))

    def test_least_recently_used_traversal_is_dropped(self):
        stack = CountingStack('s1', [('b', 'a')])
        cache = node_guard.TraversalGraphs(size=2)
        cache.of(stack, 't1')
        cache.of(stack, 't2')
        cache.of(stack, 't1')
        cache.of(stack, 't3')          # evicts t2, the least recent
        builds = stack.builds
        cache.of(stack, 't1')
        self.assertEqual(builds, stack.builds)
        cache.of(stack, 't2')
        self.assertEqual(builds + 1, stack.builds)

    def test_run_hands_cached_roots_to_heat(self):
        mistral = mock.Mock()
        runner = node_runner.NodeRunner('engine', mock.Mock(), mistral)
        stack = CountingStack('s9', [('b', 'a')])
        outcome = node_runner.Outcome(output={}, stack=stack,
                                      graph_resource_id=7)
        request = mock.Mock(traversal='t9', is_update=True)
        with mock.patch.object(runner, 'execute', return_value=outcome), \
                mock.patch.object(node_runner.completion,
                                  'root_done') as complete:
            stack.context = 'ctx'
            runner.run(request)
            runner.run(request)
        self.assertEqual(2, complete.call_count)
        deps = complete.call_args.args[4]
        self.assertEqual({'b'}, set(deps.roots()))
        self.assertEqual(1, stack.builds)
