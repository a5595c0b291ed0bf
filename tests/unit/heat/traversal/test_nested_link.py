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

"""A nested stack's execution names the parent task it runs under."""

import json
import types
from unittest import mock

from heat_mistral_engine import execution_link
from heat_mistral_engine.heat.api import rows as view_rows
from heat_mistral_engine.heat.clients import mistral_api as mistral_client
from heat_mistral_engine.heat.traversal import nested_link
from heat_mistral_engine.heat.store import claims as node_claims
from heat_mistral_engine.heat.traversal import starter
from heat_mistral_engine.osc import workflow_dot
from tests.unit import base
from tests.unit.heat.api import test_rows

PARENT = 'p0000000-0000-4000-8000-000000000000'
CHILD = 'c0000000-0000-4000-8000-000000000000'
PARENT_EX = 'e0000000-0000-4000-8000-00000000000e'
ROOT_EX = 'r0000000-0000-4000-8000-00000000000r'
TASK_EX = 't0000000-0000-4000-8000-00000000000t'
AX = 'a0000000-0000-4000-8000-00000000000a'
TRAVERSAL = 'v0000000-0000-4000-8000-00000000000v'

LINK = nested_link.ParentLink(
    stack_id=PARENT, resource='group', execution_id=PARENT_EX, task='group',
    task_execution_id=TASK_EX, root_execution_id=ROOT_EX)


def child_stack(owner=PARENT, resource='group'):
    return types.SimpleNamespace(
        id=CHILD, owner_id=owner, parent_resource_name=resource,
        context=mock.sentinel.context, name='parent-group-abc',
        action='CREATE', current_traversal='child-traversal')


def row(rid, name='group', physical=None):
    return types.SimpleNamespace(id=rid, name=name,
                                 physical_resource_id=physical)


def claim(state, ax):
    return node_claims.Claim(state=state, engine='e', action_execution=ax)


class ExecutionLinkTest(base.TestCase):

    def test_params_round_trip_through_mistrals_json_text(self):
        params = nested_link.execution_params(LINK)
        self.assertEqual(ROOT_EX, params['root_execution_id'])
        self.assertEqual(
            {'stack_id': PARENT, 'resource': 'group',
             'execution_id': PARENT_EX, 'task': 'group',
             'task_execution_id': TASK_EX},
            execution_link.parent_of(json.dumps(params)))

    def test_a_top_level_stack_gets_no_params(self):
        self.assertEqual({}, nested_link.execution_params(None))

    def test_garbage_params_have_no_parent(self):
        for params in (None, '', 'not json', '[1]', {'heat_parent': 'x'},
                       {'env': {}}):
            self.assertIsNone(execution_link.parent_of(params))

    def test_children_are_those_naming_the_execution(self):
        def ex(eid, parent, created):
            return types.SimpleNamespace(
                id=eid, created_at=created, params=json.dumps(
                    {'heat_parent': {'execution_id': parent}}))
        mine_late = ex('b', PARENT_EX, '2026-01-01 00:00:02')
        mine_early = ex('a', PARENT_EX, '2026-01-01 00:00:01')
        grandchild = ex('g', 'b', '2026-01-01 00:00:01')
        self.assertEqual(['a', 'b'], [
            child.id for child, _link in execution_link.children(
                PARENT_EX, [mine_late, grandchild, mine_early])])


class ParentRowsTestCase(base.TestCase):
    """The parent stack, its resource rows and node claims, faked."""

    def setUp(self):
        super().setUp()
        self.parent = types.SimpleNamespace(current_traversal=TRAVERSAL)
        self.rows = {}
        self.claims = {}
        for target, name, func in (
                (nested_link.stack_objects.Stack, 'get_by_id',
                 lambda cnxt, sid: self.parent if sid == PARENT else None),
                (nested_link.resource_objects.Resource,
                 'get_all_active_by_stack', lambda cnxt, sid: self.rows),
                (nested_link.claims, 'get_node',
                 lambda cnxt, rid, trav, is_update: self.claims.get(
                     (rid, trav, is_update)))):
            patcher = mock.patch.object(target, name, side_effect=func)
            patcher.start()
            self.addCleanup(patcher.stop)


class RunningParentActionTest(ParentRowsTestCase):

    def find(self, stack=None):
        stack = stack or child_stack()
        return nested_link.running_parent_action(
            mock.sentinel.context, stack,
            nested_link.parent_rows(mock.sentinel.context, stack))

    def test_top_level_stack_has_no_parent(self):
        self.assertIsNone(self.find(child_stack(owner=None)))

    def test_running_node_of_the_parent_resource(self):
        self.rows = {7: row(7), 8: row(8, name='other')}
        self.claims = {(7, TRAVERSAL, True): claim(node_claims.RUNNING, AX),
                       (8, TRAVERSAL, True): claim(node_claims.RUNNING, 'x')}
        self.assertEqual(AX, self.find())

    def test_cleanup_node_runs_a_nested_delete(self):
        self.rows = {7: row(7)}
        self.claims = {(7, TRAVERSAL, False): claim(node_claims.RUNNING, AX)}
        self.assertEqual(AX, self.find())

    def test_finished_nodes_and_older_traversals_do_not_count(self):
        self.rows = {7: row(7)}
        self.claims = {(7, TRAVERSAL, True): claim(node_claims.SUCCESS, AX),
                       (7, 'older', True): claim(node_claims.RUNNING, 'x')}
        self.assertIsNone(self.find())

    def test_the_row_owning_this_stack_wins_over_its_replacement(self):
        self.rows = {7: row(7, physical=CHILD), 9: row(9)}
        self.claims = {(7, TRAVERSAL, False): claim(node_claims.RUNNING, AX),
                       (9, TRAVERSAL, True): claim(node_claims.RUNNING, 'x')}
        self.assertEqual(AX, self.find())


class RemoteStackParentTest(ParentRowsTestCase):
    """The child of an OS::Heat::Stack: a top-level stack with a mark."""

    def setUp(self):
        super().setUp()
        self.parent.id = PARENT
        self.marked = (self.parent, row(7, name='inner'))
        patcher = mock.patch.object(
            nested_link.remote_stack_link, 'marked_parent',
            side_effect=lambda cnxt, stack: self.marked)
        patcher.start()
        self.addCleanup(patcher.stop)

    def remote(self):
        return nested_link.running_parent(
            mock.sentinel.context, child_stack(owner=None, resource=None), [])

    def test_running_node_of_the_marking_resource(self):
        self.claims = {(7, TRAVERSAL, True): claim(node_claims.RUNNING, AX)}
        self.assertEqual((PARENT, 'inner', AX), self.remote())

    def test_delete_runs_under_the_cleanup_node(self):
        self.claims = {(7, TRAVERSAL, False): claim(node_claims.RUNNING, AX)}
        self.assertEqual((PARENT, 'inner', AX), self.remote())

    def test_a_marking_resource_not_running_now_links_nothing(self):
        # A tag copied onto another stack once the parent is done.
        self.claims = {(7, TRAVERSAL, True): claim(node_claims.SUCCESS, AX),
                       (7, 'older', True): claim(node_claims.RUNNING, 'x')}
        self.assertIsNone(self.remote())

    def test_no_valid_mark_links_nothing(self):
        self.marked = None
        self.claims = {(7, TRAVERSAL, True): claim(node_claims.RUNNING, AX)}
        self.assertIsNone(self.remote())

    def test_an_owned_stack_never_reads_a_mark(self):
        self.rows = {7: row(7)}
        self.claims = {(7, TRAVERSAL, True): claim(node_claims.RUNNING, AX)}
        self.assertEqual((PARENT, 'group', AX), nested_link.running_parent(
            mock.sentinel.context, child_stack(), [row(7)]))
        nested_link.remote_stack_link.marked_parent.assert_not_called()

    def test_the_link_names_the_marking_resource(self):
        self.claims = {(7, TRAVERSAL, True): claim(node_claims.RUNNING, AX)}
        service = mock.Mock()
        service.task_of_action.return_value = {
            'task': 'inner', 'task_execution_id': TASK_EX,
            'execution_id': PARENT_EX, 'root_execution_id': ROOT_EX}
        self.assertEqual(
            nested_link.ParentLink(
                stack_id=PARENT, resource='inner', execution_id=PARENT_EX,
                task='inner', task_execution_id=TASK_EX,
                root_execution_id=ROOT_EX),
            nested_link.parent_link(child_stack(owner=None, resource=None),
                                    service))


class RecordedStarterTest(ParentRowsTestCase):
    """The node that recorded starting the nested action wins (issue 23).

    A second update of the parent became current between its first
    update's node starting the nested update and the nested traversal's
    start: Heat deleted the first traversal's claims, and the second
    traversal's node of the same resource only waits for the lock.
    """

    def setUp(self):
        super().setUp()
        self.records = {}
        patcher = mock.patch.object(
            nested_link.nested_starter, 'recorded',
            side_effect=lambda cnxt, rid: self.records.get(rid))
        patcher.start()
        self.addCleanup(patcher.stop)
        self.service = mock.Mock()
        self.states = {}
        self.service.task_of_action.side_effect = lambda ax: {
            'task': 'group', 'task_execution_id': 'task-of-' + ax,
            'execution_id': 'execution-of-' + ax,
            'root_execution_id': ROOT_EX,
            'action_state': self.states.get(ax, 'RUNNING')}

    def record(self, ax, stack_id=PARENT, traversal='superseded'):
        return {'stack_id': stack_id, 'traversal': traversal,
                'action_execution': ax}

    def link(self):
        found = nested_link.parent_link(child_stack(), self.service)
        return found and found.execution_id

    def test_the_recorded_node_wins_over_the_waiting_one(self):
        self.rows = {7: row(7)}
        self.records = {7: self.record(AX)}
        # The new traversal's node, waiting for the lock to pre-empt.
        self.claims = {(7, TRAVERSAL, True): claim(node_claims.RUNNING,
                                                   'waiting')}
        self.assertEqual('execution-of-' + AX, self.link())

    def test_the_recorded_node_links_when_no_claim_is_left(self):
        # Without the record: no link at all (the flake of the parity
        # scenario update_preempts_nested_update).
        self.rows = {7: row(7)}
        self.records = {7: self.record(AX)}
        self.assertEqual('execution-of-' + AX, self.link())
        self.records = {}
        self.assertIsNone(self.link())

    def test_a_record_of_a_node_that_ended_falls_back_to_the_claims(self):
        # The record stays after its node: a nested action started since
        # by anything else must not be linked to that node's task.
        self.rows = {7: row(7)}
        self.records = {7: self.record(AX)}
        self.states = {AX: 'SUCCESS'}
        self.claims = {(7, TRAVERSAL, True): claim(node_claims.RUNNING,
                                                   'current')}
        self.assertEqual('execution-of-current', self.link())
        # The record and the claims were looked up on one read of the rows.
        self.assertEqual(1, nested_link.resource_objects.Resource
                         .get_all_active_by_stack.call_count)
        self.claims = {}
        self.assertIsNone(self.link())

    def test_a_record_naming_another_stack_is_ignored(self):
        self.rows = {7: row(7)}
        self.records = {7: self.record(AX, stack_id='other')}
        self.assertIsNone(self.link())
        self.service.task_of_action.assert_not_called()

    def test_the_row_owning_this_stack_wins(self):
        self.rows = {7: row(7), 9: row(9, physical=CHILD)}
        self.records = {7: self.record('old'), 9: self.record(AX)}
        self.assertEqual('execution-of-' + AX, self.link())

    def test_other_resources_records_do_not_count(self):
        self.rows = {8: row(8, name='other')}
        self.records = {8: self.record(AX)}
        self.assertIsNone(self.link())


class ParentLinkTest(base.TestCase):

    def setUp(self):
        super().setUp()
        # No recorded starter: the claims decide.
        for name, value in (('recorded_starter', None), ('parent_rows', [])):
            patcher = mock.patch.object(nested_link, name,
                                        return_value=value)
            patcher.start()
            self.addCleanup(patcher.stop)

    def test_link_from_the_parent_nodes_action_execution(self):
        service = mock.Mock()
        service.task_of_action.return_value = {
            'task': 'group', 'task_execution_id': TASK_EX,
            'execution_id': PARENT_EX, 'root_execution_id': ROOT_EX}
        with mock.patch.object(nested_link, 'running_parent_action',
                               return_value=AX):
            self.assertEqual(LINK, nested_link.parent_link(child_stack(),
                                                           service))
        service.task_of_action.assert_called_once_with(AX)

    def test_a_failed_lookup_never_fails_the_nested_stack(self):
        service = mock.Mock()
        service.task_of_action.side_effect = (
            mistral_client.MistralUnavailable('Mistral at u failed'))
        with mock.patch.object(nested_link, 'running_parent_action',
                               return_value=AX):
            self.assertIsNone(nested_link.parent_link(child_stack(),
                                                      service))

    def test_no_running_parent_node_asks_mistral_nothing(self):
        service = mock.Mock()
        with mock.patch.object(nested_link, 'running_parent_action',
                               return_value=None):
            self.assertIsNone(nested_link.parent_link(child_stack(),
                                                      service))
        service.task_of_action.assert_not_called()


class TaskOfActionTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.conf.config(group='mistral_scheduler',
                         mistral_url='http://127.0.0.1:1/v2')
        self.service = mistral_client.MistralService()
        self.client = self.service._client = mock.Mock()
        self.client.action_executions.get.return_value = (
            types.SimpleNamespace(task_execution_id=TASK_EX,
                                  state='RUNNING'))
        self.client.tasks.get.return_value = types.SimpleNamespace(
            id=TASK_EX, name='group', workflow_execution_id=PARENT_EX)

    def test_nested_parent_passes_its_root_on(self):
        self.client.executions.get.return_value = types.SimpleNamespace(
            id=PARENT_EX, root_execution_id=ROOT_EX)
        self.assertEqual(
            {'task': 'group', 'task_execution_id': TASK_EX,
             'execution_id': PARENT_EX, 'root_execution_id': ROOT_EX,
             'action_state': 'RUNNING'},
            self.service.task_of_action(AX))
        self.client.action_executions.get.assert_called_once_with(AX)
        self.client.executions.get.assert_called_once_with(PARENT_EX)

    def test_top_level_parent_is_the_root(self):
        self.client.executions.get.return_value = types.SimpleNamespace(
            id=PARENT_EX, root_execution_id=None)
        self.assertEqual(PARENT_EX, self.service.task_of_action(
            AX)['root_execution_id'])

    def test_params_reach_mistral(self):
        self.service.start_execution('wf', {}, 'd',
                                     params={'root_execution_id': ROOT_EX})
        self.client.executions.create.assert_called_once_with(
            'wf', workflow_input={}, description='d',
            root_execution_id=ROOT_EX)


class DescriptionTest(base.TestCase):

    def test_names_the_parent_execution(self):
        text = starter.execution_description(child_stack(), LINK)
        self.assertTrue(text.endswith(', parent execution %s' % PARENT_EX))
        self.assertIn('(%s) CREATE, traversal' % CHILD, text)

    def test_long_names_still_leave_every_id_whole(self):
        stack = child_stack()
        stack.name = 'n' * 300
        text = starter.execution_description(stack, LINK)
        self.assertEqual(starter.MAX_DESCRIPTION, len(text))
        self.assertTrue(text.endswith(PARENT_EX))
        self.assertIn('nnn... (%s) CREATE' % CHILD, text)
        # workflow show still reads the action from the description.
        create = types.SimpleNamespace(description=text, created_at='1',
                                       id='c')
        delete = types.SimpleNamespace(
            description='Heat stack s (id) DELETE, traversal t',
            created_at='2', id='d')
        self.assertIs(create, view_rows.choose_execution(
            [create, delete], 'CREATE'))


class WorkflowShowNestedTest(base.TestCase):

    def child(self, eid, parent=PARENT_EX, task='group'):
        return types.SimpleNamespace(
            id=eid, state='SUCCESS', created_at='2026-01-01 00:00:01',
            updated_at='2026-01-01 00:00:05',
            input=json.dumps({'stack_id': 'child-' + eid}),
            params=json.dumps(execution_link.params(
                {'stack_id': PARENT, 'resource': 'group',
                 'execution_id': parent, 'task': task,
                 'task_execution_id': TASK_EX}, ROOT_EX)))

    def test_rows_name_task_stack_and_execution(self):
        rows = view_rows.nested_rows(
            PARENT_EX, [self.child('c1'), self.child('g1', parent='c1')])
        self.assertEqual([{
            'task': 'group', 'task_execution_id': TASK_EX,
            'resource': 'group', 'stack_id': 'child-c1', 'execution': 'c1',
            'state': 'SUCCESS', 'created_at': '2026-01-01 00:00:01',
            'updated_at': '2026-01-01 00:00:05'}], rows)

    def test_parent_row_of_a_child_execution(self):
        self.assertEqual(PARENT_EX, view_rows.parent_row(
            self.child('c1'))['execution_id'])
        self.assertIsNone(view_rows.parent_row(
            types.SimpleNamespace(params='{}')))

    def test_dot_hangs_nested_executions_off_their_task(self):
        spec = test_rows.spec()
        rows = view_rows.task_rows(spec, [])
        nested = view_rows.nested_rows(PARENT_EX,
                                       [self.child('c1', task='a')])
        out = workflow_dot.dot(view_rows.edge_rows(spec), rows, 'title',
                               nested)
        self.assertIn('"a" -> "c1" [style=dashed, label="nested"];', out)
        self.assertIn('"c1" [label="nested stack child-c1\\nSUCCESS"', out)
