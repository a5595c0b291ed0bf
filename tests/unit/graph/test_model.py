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

import testtools

from heat_mistral_engine.graph import model


def node(rid, name, is_update=True):
    return model.Node(resource_id=rid, is_update=is_update,
                      resource_name=name)


class TaskGraphTest(testtools.TestCase):

    def test_order_puts_requirements_first(self):
        graph = model.TaskGraph(
            [node(3, 'c'), node(1, 'a'), node(2, 'b')],
            [((1, True), (2, True)), ((2, True), (3, True))])
        self.assertEqual(['a', 'b', 'c'], [n.resource_name for n in graph])

    def test_order_is_stable_by_name_among_independent_nodes(self):
        graph = model.TaskGraph([node(1, 'z'), node(2, 'm'), node(3, 'a')])
        self.assertEqual(['a', 'm', 'z'], [n.resource_name for n in graph])

    def test_requires_and_required_by(self):
        graph = model.TaskGraph(
            [node(1, 'a'), node(2, 'b'), node(3, 'c')],
            [((1, True), (3, True)), ((2, True), (3, True))])
        self.assertEqual(['a', 'b'],
                         [n.resource_name for n in graph.requires((3, True))])
        self.assertEqual(['c'], [n.resource_name
                                 for n in graph.required_by((1, True))])
        self.assertEqual([], graph.requires((1, True)))
        self.assertEqual(2, len(list(graph.edges())))

    def test_cycle_is_rejected_naming_its_nodes(self):
        exc = self.assertRaises(
            model.GraphError, model.TaskGraph,
            [node(1, 'a'), node(2, 'b'), node(3, 'c')],
            [((1, True), (2, True)), ((2, True), (1, True)),
             ((2, True), (3, True))])
        self.assertIn('cycle', str(exc))
        self.assertIn('a, b', str(exc))
        self.assertNotIn('c', str(exc).split(':')[1])

    def test_unknown_node_in_edge_is_rejected(self):
        exc = self.assertRaises(model.GraphError, model.TaskGraph,
                                [node(1, 'a')], [((1, True), (9, True))])
        self.assertIn('(9, True)', str(exc))

    def test_self_dependency_is_rejected(self):
        self.assertRaises(model.GraphError, model.TaskGraph,
                          [node(1, 'a')], [((1, True), (1, True))])

    def test_duplicate_node_is_rejected(self):
        self.assertRaises(model.GraphError, model.TaskGraph,
                          [node(1, 'a'), node(1, 'a')])

    def test_update_and_cleanup_of_one_resource_are_two_nodes(self):
        graph = model.TaskGraph([node(1, 'a'), node(1, 'a', False)],
                                [((1, True), (1, False))])
        self.assertEqual(['a', 'a (cleanup)'], [n.label for n in graph])

    def test_edge_kinds(self):
        graph = model.TaskGraph(
            [node(1, 'a'), node(2, 'b'), node(3, 'c')],
            [((1, True), (2, True)), ((2, True), (3, True))],
            kinds={((1, True), (2, True)): ['get_attr', 'hosted_on']})
        self.assertEqual(('get_attr', 'hosted_on'),
                         graph.kinds((1, True), (2, True)))
        self.assertEqual((), graph.kinds((2, True), (3, True)))

    def test_kinds_of_a_missing_edge_are_rejected(self):
        exc = self.assertRaises(
            model.GraphError, model.TaskGraph, [node(1, 'a'), node(2, 'b')],
            [((1, True), (2, True))],
            kinds={((2, True), (1, True)): ['get_attr']})
        self.assertIn('not an edge', str(exc))
