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

"""The entry point and the wiring that puts the scheduler into Heat."""

from unittest import mock

import fixtures
from heat.engine import stack as heat_stack
from heat.engine import worker as heat_worker

from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.node import server as node_server
from heat_mistral_engine.heat.patches import convergence
from heat_mistral_engine.heat.patches import db_outage
from heat_mistral_engine.heat.patches import environment as env_patch
from heat_mistral_engine.heat.patches import heat_release
from heat_mistral_engine.heat.patches import lean_defn
from heat_mistral_engine.heat.patches import nested_starter
from heat_mistral_engine.heat.patches import remote_stack_link
from heat_mistral_engine.heat.patches import validate_warnings
from heat_mistral_engine.heat.recovery import failure_watch
from heat_mistral_engine.heat.recovery import watchdog
from heat_mistral_engine.heat.startup import plugin
from heat_mistral_engine.heat.startup import wiring
from heat_mistral_engine.heat.traversal import starter
from tests.unit import base


class ResourceTypesTest(base.TestCase):
    """Every engine registers OS::Mistral::Hook and its warnings."""

    def test_types_and_template_validate_warnings(self):
        with mock.patch.object(env_patch, 'register_resource_types') as reg, \
                mock.patch.object(validate_warnings, 'install') as warn:
            self.assertTrue(plugin.register_resource_types())
        self.assertIn('OS::Mistral::Hook', reg.call_args[0][0])
        warn.assert_called_once_with()

    def test_warnings_that_cannot_be_installed_leave_the_types(self):
        logger = self.useFixture(fixtures.FakeLogger())
        with mock.patch.object(env_patch, 'register_resource_types'), \
                mock.patch.object(validate_warnings, 'install',
                                  side_effect=heat_release.IncompatibleHeat(
                                      'another Heat')):
            self.assertTrue(plugin.register_resource_types())
        self.assertIn('template validate will not show', logger.output)


class PluginInstallTest(base.TestCase):

    def setUp(self):
        super().setUp()
        # plugin.install really wraps Heat's database functions.
        self.addCleanup(db_outage.uninstall)

    def test_disabled_installs_nothing(self):
        with mock.patch.object(convergence, 'install') as install, \
                mock.patch.object(lean_defn, 'install') as lean, \
                mock.patch.object(remote_stack_link, 'install') as remote:
            self.assertFalse(plugin.install())
        install.assert_not_called()
        lean.assert_not_called()
        remote.assert_not_called()
        self.assertFalse(db_outage.installed())

    def test_enabled_installs_and_logs_config_problems(self):
        self.conf.config(enabled=True, group='mistral_scheduler')
        logger = self.useFixture(fixtures.FakeLogger())
        with mock.patch.object(convergence, 'install') as install, \
                mock.patch.object(lean_defn, 'install') as lean, \
                mock.patch.object(remote_stack_link, 'install') as remote, \
                mock.patch.object(nested_starter, 'install') as starter:
            self.assertTrue(plugin.install())
        install.assert_called_once_with(mock.ANY)
        lean.assert_called_once_with(self.conf.conf)
        remote.assert_called_once_with()
        starter.assert_called_once_with()
        self.assertTrue(db_outage.installed())
        self.assertIn('misconfigured', logger.output)
        self.assertIn('endpoint_override is unset', logger.output)

    def test_legacy_engine_is_named_in_an_error(self):
        self.conf.config(enabled=True, mistral_url='http://mistral:8989/v2',
                         group='mistral_scheduler')
        self.conf.config(convergence_engine=False)
        logger = self.useFixture(fixtures.FakeLogger(
            format='%(levelname)s %(message)s'))
        with mock.patch.object(convergence, 'install'), \
                mock.patch.object(lean_defn, 'install'), \
                mock.patch.object(remote_stack_link, 'install'), \
                mock.patch.object(nested_starter, 'install'):
            self.assertTrue(plugin.install())
        self.assertIn('ERROR heat-mistral-engine is enabled, but [DEFAULT] '
                      'convergence_engine is false', logger.output)
        self.conf.config(convergence_engine=True)
        logger = self.useFixture(fixtures.FakeLogger())
        with mock.patch.object(convergence, 'install'), \
                mock.patch.object(lean_defn, 'install'), \
                mock.patch.object(remote_stack_link, 'install'), \
                mock.patch.object(nested_starter, 'install'):
            plugin.install()
        self.assertNotIn('convergence_engine', logger.output)


class WiringTest(base.TestCase):

    def setUp(self):
        super().setUp()
        base.restore_patched_heat(self)

    def test_worker_start_starts_node_server_then_freezes_gc(self):
        calls = []
        with mock.patch.object(heat_worker.WorkerService, 'start',
                               lambda self: calls.append('heat')):
            convergence.install(wiring.scheduler())
            with mock.patch.object(node_server, 'start_node_server',
                                   lambda worker, nodes, conf:
                                   calls.append('nodes')), \
                    mock.patch.object(wiring, 'start_recovery',
                                      lambda *args, **kwargs:
                                      calls.append('recovery')), \
                    mock.patch.object(wiring.gc, 'collect',
                                      lambda: calls.append('collect')), \
                    mock.patch.object(wiring.gc, 'freeze',
                                      lambda: calls.append('freeze')):
                heat_worker.WorkerService.start(mock.Mock())
        self.assertEqual(['heat', 'nodes', 'recovery', 'collect', 'freeze'],
                         calls)

    def test_traversals_go_to_the_traversal_starter(self):
        with mock.patch.object(starter, 'handles', return_value=True), \
                mock.patch.object(starter, 'start') as start:
            convergence.install(wiring.scheduler())
            stack = mock.Mock(convergence=True, status='COMPLETE')
            heat_stack.Stack._converge_create_or_update(stack, 'pre')
        start.assert_called_once_with(stack, pre_converge='pre')

    def test_recovery_runs_the_failure_watch_in_a_thread_of_its_own(self):
        self.conf.config(failure_poll_interval=3, watchdog_interval=30,
                         orphan_check_interval=300,
                         group='mistral_scheduler')
        started = []
        with mock.patch.object(watchdog.Periodic, 'start',
                               lambda periodic: started.append(periodic)):
            periodic = wiring.start_recovery(mock.Mock(engine_id='eng-1'))
        self.assertEqual([periodic, periodic.failures, periodic.heartbeat],
                         started)
        ((beats, beat),) = periodic.heartbeat.tasks
        self.assertEqual(10, beats)
        self.assertEqual('eng-1', beat.__self__.engine_id)
        self.assertEqual([30, 300], [i for i, _f in periodic.tasks])
        ((interval, poll),) = periodic.failures.tasks
        self.assertEqual(3, interval)
        with mock.patch.object(failure_watch.FailureWatch, 'poll',
                               autospec=True) as polled:
            poll()
            poll()
        # One watch, made at the first poll, kept for the next.
        (watch,) = {call.args[0] for call in polled.call_args_list}
        self.assertIsInstance(watch, failure_watch.FailureWatch)
        self.assertEqual('eng-1', watch.heat.claimant)

    def test_a_misconfigured_mistral_client_fails_the_poll_not_the_start(
            self):
        # A worker whose start raised would never serve Heat's RPC: with
        # a bad mistral_url, the engine must still fail stacks with the
        # message (tests/functional_restart/test_bad_config.py).
        self.conf.config(failure_poll_interval=3, group='mistral_scheduler')
        runner = mock.Mock(engine_id='eng-1')
        type(runner).mistral = mock.PropertyMock(
            side_effect=mistral_api.MistralUnavailable('misconfigured'))
        with mock.patch.object(watchdog.Periodic, 'start'):
            periodic = wiring.start_recovery(runner)
        ((_interval, poll),) = periodic.failures.tasks
        self.assertRaises(mistral_api.MistralUnavailable, poll)

    def test_a_failure_poll_interval_of_0_runs_no_watch(self):
        self.conf.config(failure_poll_interval=0, group='mistral_scheduler')
        with mock.patch.object(watchdog, '_thread') as thread:
            periodic = wiring.start_recovery(mock.Mock(engine_id='eng-1'))
        self.assertEqual([], periodic.failures.tasks)
        self.assertIsNone(periodic.failures.start())
        # The watchdog's and the heartbeat's only.
        self.assertEqual(2, thread.call_count)
