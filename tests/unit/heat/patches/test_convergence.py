from unittest import mock

import fixtures
from heat.engine import stack as heat_stack
from heat.engine import worker as heat_worker

from heat_mistral_engine.heat.patches import convergence
from heat_mistral_engine.heat.patches import lean_defn
from heat_mistral_engine.heat.node import server as node_server
from heat_mistral_engine.heat.patches import remote_stack_link
from heat_mistral_engine.heat.startup import plugin
from heat_mistral_engine.heat.traversal import starter
from tests.unit import base


class HooksTest(base.TestCase):

    def setUp(self):
        super().setUp()
        # Restore Heat's classes after each test.
        base.restore_hooked_heat(self)
        self.native = heat_stack.Stack._converge_create_or_update

    def test_supported_heat_passes_the_check(self):
        convergence.check_heat_version()

    def test_unsupported_heat_is_refused_with_versions(self):
        with mock.patch.object(convergence, 'SUPPORTED_HEAT',
                               ((28, 0), (29, 0))):
            exc = self.assertRaises(convergence.IncompatibleHeat,
                                    convergence.check_heat_version)
        self.assertIn('>= 28.0, < 29.0', str(exc))
        self.assertIn('27.', str(exc))

    def test_install_is_idempotent_and_keeps_the_original(self):
        convergence.install()
        wrapped = heat_stack.Stack._converge_create_or_update
        convergence.install()
        self.assertIs(wrapped, heat_stack.Stack._converge_create_or_update)
        self.assertIs(self.native, wrapped._hme_original)
        self.assertIsNotNone(heat_worker.WorkerService.start._hme_original)

    def test_worker_start_starts_node_server_then_freezes_gc(self):
        calls = []
        with mock.patch.object(heat_worker.WorkerService, 'start',
                               lambda self: calls.append('heat')):
            convergence.install()
            with mock.patch.object(node_server, 'start_node_server',
                                   lambda worker: calls.append('nodes')), \
                    mock.patch.object(convergence.gc, 'collect',
                                      lambda: calls.append('collect')), \
                    mock.patch.object(convergence.gc, 'freeze',
                                      lambda: calls.append('freeze')):
                heat_worker.WorkerService.start(mock.Mock())
        self.assertEqual(['heat', 'nodes', 'collect', 'freeze'], calls)

    def test_handled_traversals_go_to_mistral_others_to_heat(self):
        convergence.install()
        stack = mock.Mock(convergence=True, status='COMPLETE')
        with mock.patch.object(starter, 'handles', return_value=True), \
                mock.patch.object(starter, 'start') as start:
            heat_stack.Stack._converge_create_or_update(stack, 'pre')
        start.assert_called_once_with(stack, pre_converge='pre')

        with mock.patch.object(starter, 'handles', return_value=False), \
                mock.patch.object(starter, 'start') as start, \
                mock.patch.object(self.native, '__wrapped__') as native:
            heat_stack.Stack._converge_create_or_update(
                stack, abandon=True, future_kwarg=1)
        start.assert_not_called()
        native.assert_called_once_with(stack, pre_converge=None,
                                       abandon=True, future_kwarg=1)

    def test_errors_mark_the_stack_failed_like_heat(self):
        convergence.install()
        stack = mock.Mock(convergence=True, status='IN_PROGRESS',
                          IN_PROGRESS='IN_PROGRESS')
        with mock.patch.object(starter, 'handles', return_value=True), \
                mock.patch.object(starter, 'start',
                                  side_effect=RuntimeError('Mistral down')):
            self.assertRaises(RuntimeError,
                              heat_stack.Stack._converge_create_or_update,
                              stack)
        stack.mark_failed.assert_called_once_with('Mistral down')


class PluginInstallTest(base.TestCase):

    def test_disabled_installs_nothing(self):
        with mock.patch.object(convergence, 'install') as install, \
                mock.patch.object(lean_defn, 'install') as lean, \
                mock.patch.object(remote_stack_link, 'install') as remote:
            self.assertFalse(plugin.install())
        install.assert_not_called()
        lean.assert_not_called()
        remote.assert_not_called()

    def test_enabled_installs_and_logs_config_problems(self):
        self.conf.config(enabled=True, group='mistral_scheduler')
        logger = self.useFixture(fixtures.FakeLogger())
        with mock.patch.object(convergence, 'install') as install, \
                mock.patch.object(lean_defn, 'install') as lean, \
                mock.patch.object(remote_stack_link, 'install') as remote:
            self.assertTrue(plugin.install())
        install.assert_called_once_with()
        lean.assert_called_once_with(self.conf.conf)
        remote.assert_called_once_with()
        self.assertIn('misconfigured', logger.output)
        self.assertIn('mistral_url is unset', logger.output)

    def test_legacy_engine_is_named_in_an_error(self):
        self.conf.config(enabled=True, mistral_url='http://mistral:8989/v2',
                         group='mistral_scheduler')
        self.conf.config(convergence_engine=False)
        logger = self.useFixture(fixtures.FakeLogger(
            format='%(levelname)s %(message)s'))
        with mock.patch.object(convergence, 'install'), \
                mock.patch.object(lean_defn, 'install'), \
                mock.patch.object(remote_stack_link, 'install'):
            self.assertTrue(plugin.install())
        self.assertIn('ERROR heat-mistral-engine is enabled, but [DEFAULT] '
                      'convergence_engine is false', logger.output)
        self.conf.config(convergence_engine=True)
        logger = self.useFixture(fixtures.FakeLogger())
        with mock.patch.object(convergence, 'install'), \
                mock.patch.object(lean_defn, 'install'), \
                mock.patch.object(remote_stack_link, 'install'):
            plugin.install()
        self.assertNotIn('convergence_engine', logger.output)
