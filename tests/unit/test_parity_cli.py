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


"""The parity suite's in-process ``openstack`` commands (tests/parity/cli)."""

import json
from unittest import mock

from heatclient.v1 import stacks

from tests.parity import cli
from tests.parity import dsl
from tests.unit import base


def heat_with_stack(status):
    heat = mock.Mock()
    heat.stacks.get.return_value = stacks.Stack(None, {
        'id': 'sid', 'stack_name': 's', 'stack_status': status,
        'creation_time': 't0', 'updated_time': None})
    return heat


class CliTest(base.TestCase):

    def test_longest_command_name_wins(self):
        entry_point, words, rest = cli.find(
            ['stack', 'resource', 'signal', 's', 'r', '--data', '{}'])
        self.assertEqual('stack_resource_signal', entry_point.name)
        self.assertEqual(['s', 'r', '--data', '{}'], rest)
        self.assertRaises(cli.CommandFailed, cli.find, ['stacks', 'x'])

    def test_cancel_runs_the_clients_own_check_and_call(self):
        heat = heat_with_stack('UPDATE_IN_PROGRESS')
        out = cli.run(heat, ['stack', 'cancel', 's', '--no-rollback',
                             '-f', 'json'])
        heat.actions.cancel_without_rollback.assert_called_once_with('s')
        self.assertEqual('sid', json.loads(out)[0]['ID'])
        heat = heat_with_stack('UPDATE_COMPLETE')
        error = self.assertRaises(cli.CommandFailed, cli.run, heat,
                                  ['stack', 'cancel', 's'])
        # openstack's own refusal, which the load used to provoke.
        self.assertIn('not in cancelable state', str(error))
        heat.actions.cancel_update.assert_not_called()

    def test_delete_without_prompt(self):
        heat = heat_with_stack('CREATE_COMPLETE')
        self.assertEqual('', cli.run(heat, ['stack', 'delete', '--yes',
                                            's']))
        heat.stacks.delete.assert_called_once_with('s')

    def test_bad_arguments_fail_without_exiting(self):
        self.assertRaises(cli.CommandFailed, cli.run, mock.Mock(),
                          ['stack', 'cancel', '--no-such-option', 's'])

    def test_cloud_raises_step_errors_unless_told_not_to(self):
        cloud = dsl.Cloud.__new__(dsl.Cloud)
        cloud.label = 'native'
        cloud.heat = heat_with_stack('CREATE_COMPLETE')
        error = self.assertRaises(dsl.StepError, cloud.openstack,
                                  'stack', 'cancel', 's', parse=False)
        self.assertIn('native: openstack stack cancel s', str(error))
        self.assertIsNone(cloud.openstack('stack', 'cancel', 's',
                                          parse=False, check=False))


class LatencyTest(base.TestCase):

    def test_the_step_after_a_mid_action_wait_reports_its_latency(self):
        runner = dsl.Runner.__new__(dsl.Runner)
        runner.record = dsl.Record()
        runner.mid_action_since = None
        runner.acted('update')
        self.assertEqual([], runner.record.act_latencies)
        runner.mid_action_since = 1000.0
        with mock.patch.object(dsl.time, 'time', return_value=1002.25):
            runner.acted('cancel')
        runner.acted('delete')
        self.assertEqual([('cancel', 2.2)], runner.record.act_latencies)
