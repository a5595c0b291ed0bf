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

import json
from unittest import mock

import fixtures
from heat.engine import sync_point

from heat_mistral_engine.graph import hook_tasks
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.operator_hooks import hooks_file
from heat_mistral_engine.heat.patches import convergence
from heat_mistral_engine.heat.patches import stack_row
from heat_mistral_engine.heat.store import traversal_mark
from heat_mistral_engine.heat.traversal import graph_source
from heat_mistral_engine.heat.traversal import nested_link
from heat_mistral_engine.heat.traversal import starter
from heat_mistral_engine.heat.traversal import traversal_token
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


class SupersededStartTest(base.TestCase):
    """A start that a newer traversal supersedes leaves the newer alone.

    Two starts of one stack can run at once (an update during an update);
    only the one the stack's row names may end executions, and the older
    one withdraws its own execution if the newer start missed it.
    """

    def setUp(self):
        super().setUp()
        self.stack = mock.Mock(id='s1', current_traversal='t1',
                               action='UPDATE', converge=False,
                               adopt_stack_data=None, tags=[])
        self.stack.name = 'stack'
        self.stack.timeout_secs.return_value = 3600
        self.service = mock.Mock()
        self.service.running_executions.return_value = [
            mock.Mock(id='e2', input=json.dumps({'traversal': 't2'}))]
        self.service.start_execution.return_value = mock.Mock(id='e1')
        self.rows = []
        for target, name, value in (
                (convergence, 'prepare_traversal', True),
                (graph_source, 'task_graph', ['node']),
                (hooks_file, 'load', ()),
                (sync_point, 'create', None),
                (traversal_mark, 'mark', None),
                (nested_link, 'parent_link', None),
                (workflow, 'build', {}),
                (workflow, 'to_yaml', 'yaml'),
                (traversal_token, 'seal', 'sealed'),
                (hook_tasks, 'after_hook_attributes', ()),
                (hook_tasks, 'before_resources', {})):
            self.useFixture(fixtures.MockPatchObject(target, name,
                                                     return_value=value))
        self.useFixture(fixtures.MockPatchObject(
            mistral_api, 'MistralService', return_value=self.service))
        self.useFixture(fixtures.MockPatchObject(
            stack_row, 'traversal_state',
            side_effect=lambda cnxt, stack_id: mock.Mock(
                current_traversal=self.rows.pop(0))))

    def test_the_current_start_cancels_others_and_cleans_up(self):
        self.rows = ['t1', 't1']
        self.assertEqual('e1', starter.start(self.stack).id)
        self.service.stop_execution.assert_called_once_with(
            'e2', 'CANCELLED', mock.ANY)
        self.service.delete_workflows.assert_called_once_with(
            'heat_stack_s1', keep_namespace='t1')

    def test_superseded_before_the_upload_hands_nothing_over(self):
        self.rows = ['t2']
        self.assertIsNone(starter.start(self.stack))
        self.service.stop_execution.assert_not_called()
        self.service.create_workflow.assert_not_called()
        self.service.start_execution.assert_not_called()
        self.service.delete_workflows.assert_not_called()

    def test_superseded_after_the_start_withdraws_its_own(self):
        # t2's start listed the executions before e1 existed.
        self.rows = ['t1', 't2']
        self.assertIsNone(starter.start(self.stack))
        self.assertEqual(
            [mock.call('e2', 'CANCELLED', mock.ANY),
             mock.call('e1', 'CANCELLED', mock.ANY)],
            self.service.stop_execution.call_args_list)
        self.service.delete_workflows.assert_not_called()
