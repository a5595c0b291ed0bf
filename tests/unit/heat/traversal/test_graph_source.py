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

"""graph_source reads exactly Heat's convergence graph, updates included.

The stacks are real Heat stacks on Heat's own sqlite test database (as in
Heat's tests/test_convg_stack.py): traversals are started by Heat's own
starter (worker casts mocked out) and resource nodes are run with Heat's
worker functions (``check_resource.load_resource``,
``check_resource_update``, ``Resource.make_replacement``), the same ones
node_runner calls, so resource rows carry the ``requires``, ``replaces``
and template ids a real deployment leaves behind. The oracle is the graph
Heat stores in the stack row (``current_deps``).
"""

from unittest import mock

import fixtures

from heat.common import messaging
from heat.common import template_format
from heat.engine import check_resource
from heat.engine import resource
from heat.engine import resources
from heat.engine import stack as heat_stack
from heat.engine import template as heat_template
from heat.objects import stack as stack_object
from heat.rpc import worker_client
from heat.tests import utils as heat_test_utils

from heat_mistral_engine.heat.traversal import graph_source
from heat_mistral_engine.heat.patches import convergence
from tests.unit import base

ENGINE_ID = 'unit-test-engine'

OLD = """
heat_template_version: 2021-04-16
resources:
  base:
    type: OS::Heat::TestResource
    properties: {value: one, update_replace: true}
  user:
    type: OS::Heat::TestResource
    properties:
      value: {get_attr: [base, output]}
  removed:
    type: OS::Heat::TestResource
    depends_on: base
"""

# base changes a property whose update raises UpdateReplace; removed goes,
# added comes.
NEW = """
heat_template_version: 2021-04-16
resources:
  base:
    type: OS::Heat::TestResource
    properties: {value: two, update_replace: true}
  user:
    type: OS::Heat::TestResource
    properties:
      value: {get_attr: [base, output]}
  added:
    type: OS::Heat::TestResource
    properties:
      value: {get_attr: [user, output]}
"""


class _Threads:
    """Heat's thread group manager, reduced to running things now."""

    def start(self, stack_id, func, *args, **kwargs):
        func(*args, **kwargs)

    def add_msg_queue(self, stack_id, msg_queue):
        pass

    def remove_msg_queue(self, gt, stack_id, msg_queue):
        pass

    def send(self, stack_id, message):
        pass


class ConvergenceTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        resources.initialise()   # Heat's resource plugins, once
        self.conf.config(
            keystone_backend='heat.engine.clients.os.keystone.'
                             'fake_keystoneclient.FakeKeystoneClient')
        messaging.setup('fake://', optional=True)
        self.addCleanup(messaging.cleanup)
        # Heat's tests turn off the scheduler's sleeps between polls.
        self.useFixture(fixtures.MonkeyPatch(
            'heat.engine.scheduler.ENABLE_SLEEP', False))
        heat_test_utils.setup_dummy_db()
        self.addCleanup(heat_test_utils.reset_dummy_db)
        self.ctx = heat_test_utils.dummy_context()
        patcher = mock.patch.object(worker_client.WorkerClient,
                                    'check_resource')
        self.casts = patcher.start()
        self.addCleanup(patcher.stop)

    # -- driving stacks the way heat-engine does --------------------------

    def template(self, text):
        return heat_template.Template(template_format.parse(text))

    def load(self, stack_id):
        stack = heat_stack.Stack.load(self.ctx, stack_id=stack_id,
                                      force_reload=True)
        stack.thread_group_mgr = _Threads()
        return stack

    def create(self, text, name='graph-source'):
        """Start a CREATE traversal; return the stack."""
        stack = heat_stack.Stack(self.ctx, name, self.template(text),
                                 convergence=True)
        stack.store()
        stack.thread_group_mgr = _Threads()
        stack.converge_stack(template=stack.t, action=stack.CREATE)
        return stack

    def update(self, stack_id, text):
        """Start an UPDATE traversal to ``text``; return the stack."""
        stack = self.load(stack_id)
        stack.converge_stack(template=self.template(text),
                             action=stack.UPDATE)
        return stack

    def run_node(self, stack, node, graph):
        """Run one node as a worker would; return the row id it ended on."""
        requires = {r.resource_id for r in graph.requires(node.key)
                    if r.is_update}
        rsrc, _defn, stk = check_resource.load_resource(
            self.ctx, node.resource_id, {}, stack.current_traversal,
            node.is_update)
        stk.thread_group_mgr = _Threads()
        if not node.is_update:
            check_resource.check_resource_cleanup(
                rsrc, stk.t.id, ENGINE_ID, stk, None)
            return rsrc.id
        try:
            check_resource.check_resource_update(
                rsrc, stk.t.id, requires, ENGINE_ID, stk, None)
            return rsrc.id
        except resource.UpdateReplace:
            new_id = rsrc.make_replacement(stk.t.id, requires)
            new, _defn, stk = check_resource.load_resource(
                self.ctx, new_id, {}, stack.current_traversal, True)
            stk.thread_group_mgr = _Threads()
            check_resource.check_resource_update(
                new, stk.t.id, requires, ENGINE_ID, stk, None)
            return new_id

    def run_all(self, stack):
        """Run every node of the traversal in order and complete it."""
        graph = graph_source.task_graph(stack)
        for node in graph:
            self.run_node(stack, node, graph)
        self.load(stack.id).mark_complete()

    def created(self, text, name='graph-source'):
        stack = self.create(text, name)
        self.run_all(stack)
        return self.load(stack.id)

    # -- comparing --------------------------------------------------------

    def heat_graph(self, stack):
        """(nodes, edges) of the convergence graph Heat stored."""
        row = stack_object.Stack.get_by_id(self.ctx, stack.id)
        nodes, edges = set(), set()
        for requirer, required in row.current_deps['edges']:
            nodes.add(tuple(requirer))
            if required is not None:
                nodes.add(tuple(required))
                edges.add((tuple(required), tuple(requirer)))
        return nodes, edges

    def assertSameAsHeat(self, stack, graph):
        nodes, edges = self.heat_graph(stack)
        self.assertEqual(nodes, {n.key for n in graph})
        self.assertEqual(edges, {(a.key, b.key) for a, b in graph.edges()})
        # Heat's in-memory graph, from which the stored one was written.
        heat_deps = stack.convergence_dependencies.graph()
        self.assertEqual(nodes, {n.to_tuple() for n in heat_deps})

    def labelled(self, graph):
        """Edges as (label, label): names, with '(cleanup)' on cleanups."""
        return {(a.label, b.label) for a, b in graph.edges()}


class CreateGraphTest(ConvergenceTestCase):

    def test_create_has_only_create_nodes(self):
        stack = self.create(OLD)
        graph = graph_source.task_graph(stack)
        self.assertSameAsHeat(stack, graph)
        self.assertTrue(all(n.is_update for n in graph))
        self.assertEqual({('base', 'user'), ('base', 'removed')},
                         self.labelled(graph))
        self.assertEqual(('depends_on',), graph.kinds(
            (stack['base'].id, True), (stack['removed'].id, True)))
        self.assertEqual({'OS::Heat::TestResource'},
                         {n.resource_type for n in graph})
        self.casts.assert_called()   # Heat's starter did run


class UpdateGraphTest(ConvergenceTestCase):

    def test_update_has_update_and_cleanup_nodes(self):
        old = self.created(OLD)
        old_ids = {name: r.id for name, r in old.resources.items()}
        stack = self.update(old.id, NEW)
        graph = graph_source.task_graph(stack)
        self.assertSameAsHeat(stack, graph)

        by_key = {n.key: n for n in graph}
        # Update nodes: the kept rows (base will be replaced only when its
        # node runs) and a new row for added.
        updates = {n.resource_name: n.resource_id
                   for n in graph if n.is_update}
        self.assertEqual({'base', 'user', 'added'}, set(updates))
        self.assertEqual(old_ids['base'], updates['base'])
        self.assertEqual(old_ids['user'], updates['user'])
        self.assertNotIn(updates['added'], old_ids.values())
        # Cleanup nodes: every existing row, removed included.
        self.assertEqual(
            {(old_ids[n], False) for n in ('base', 'user', 'removed')},
            {k for k, n in by_key.items() if not n.is_update})
        self.assertEqual({
            ('base', 'user'), ('user', 'added'),
            # A kept resource is cleaned up after its update ...
            ('base', 'base (cleanup)'), ('user', 'user (cleanup)'),
            # ... and cleanups run in reverse dependency order.
            ('user (cleanup)', 'base (cleanup)'),
            ('removed (cleanup)', 'base (cleanup)'),
        }, self.labelled(graph))

    def test_create_edges_carry_the_template_kinds(self):
        old = self.created(OLD)
        stack = self.update(old.id, NEW)
        graph = graph_source.task_graph(stack)
        kinds = {(a.label, b.label): graph.kinds(a.key, b.key)
                 for a, b in graph.edges()}
        self.assertEqual(('get_attr',), kinds[('base', 'user')])
        self.assertEqual(('get_attr',), kinds[('user', 'added')])
        # Cleanup order comes from stored rows, not from a template.
        self.assertEqual((), kinds[('user (cleanup)', 'base (cleanup)')])
        self.assertEqual((), kinds[('base', 'base (cleanup)')])

    def test_labelling_never_stops_a_traversal(self):
        stack = self.create(OLD)
        with mock.patch.object(graph_source.template_graph, 'edges',
                               side_effect=RuntimeError('bug')):
            graph = graph_source.task_graph(stack)
        self.assertSameAsHeat(stack, graph)
        self.assertEqual([()], list({graph.kinds(a.key, b.key)
                                     for a, b in graph.edges()}))

    def test_update_after_a_replacement_has_both_rows(self):
        old = self.created(OLD)
        old_base = old.resources['base'].id
        stack = self.update(old.id, NEW)
        graph = graph_source.task_graph(stack)
        base_node = graph.node((old_base, True))
        new_base = self.run_node(stack, base_node, graph)
        self.assertNotEqual(old_base, new_base)   # UpdateReplace happened
        # The traversal stops there (say, a new update supersedes it).
        stack = self.update(old.id, NEW)
        graph = graph_source.task_graph(stack)
        self.assertSameAsHeat(stack, graph)

        # The replacement is the row to update; the replaced row is only
        # cleaned up, after its replacement's update.
        self.assertIn((new_base, True), {n.key for n in graph})
        self.assertNotIn((old_base, True), {n.key for n in graph})
        self.assertIn(graph.node((old_base, False)),
                      graph.required_by((new_base, False)))
        self.assertIn(graph.node((new_base, False)),
                      graph.required_by((new_base, True)))
        self.assertEqual(
            ['base (cleanup)', 'base (cleanup)'],
            [n.label for n in graph if n.resource_name == 'base'
             and not n.is_update])

    def test_delete_has_only_cleanup_nodes(self):
        old = self.created(OLD)
        stack = self.load(old.id)
        # What Stack.delete does for a convergence stack.
        stack.converge_stack(
            template=heat_template.Template.create_empty_template(
                version=stack.t.version),
            action=stack.DELETE)
        graph = graph_source.task_graph(stack)
        self.assertSameAsHeat(stack, graph)
        self.assertEqual({('user (cleanup)', 'base (cleanup)'),
                          ('removed (cleanup)', 'base (cleanup)')},
                         self.labelled(graph))


class PreparedTraversalTest(ConvergenceTestCase):
    """hooks.prepare_traversal stores the graph Heat's own starter stores."""

    def test_same_graph_as_heats_starter(self):
        def prepared(stack, pre_converge=None, abandon=False):
            convergence.prepare_traversal(stack)

        graphs = []
        for starter in (None, prepared):
            old = self.created(OLD, name='stack-%d' % len(graphs))
            if starter is None:
                stack = self.update(old.id, NEW)
            else:
                with mock.patch.object(heat_stack.Stack,
                                       '_converge_create_or_update',
                                       prepared):
                    stack = self.update(old.id, NEW)
            graph = graph_source.task_graph(stack)
            self.assertSameAsHeat(stack, graph)
            graphs.append(self.labelled(graph))
        self.assertEqual(graphs[0], graphs[1])
