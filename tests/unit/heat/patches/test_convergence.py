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

from unittest import mock

from heat.engine import stack as heat_stack
from heat.engine import worker as heat_worker

from heat_mistral_engine.heat.patches import convergence
from heat_mistral_engine.heat.patches import heat_release
from tests.unit import base


class ConvergencePatchTest(base.TestCase):

    def setUp(self):
        super().setUp()
        # Restore Heat's classes after each test.
        base.restore_patched_heat(self)
        self.native = heat_stack.Stack._converge_create_or_update

    def test_supported_heat_passes_the_check(self):
        convergence.check_heat_version()

    def test_unsupported_heat_is_refused_with_versions(self):
        with mock.patch.object(heat_release, 'SUPPORTED_HEAT',
                               ((28, 0), (29, 0))):
            exc = self.assertRaises(heat_release.IncompatibleHeat,
                                    convergence.check_heat_version)
        self.assertIn('>= 28.0, < 29.0', str(exc))
        self.assertIn('27.', str(exc))

    def test_install_is_idempotent_and_keeps_the_original(self):
        convergence.install(base.scheduler())
        wrapped = heat_stack.Stack._converge_create_or_update
        convergence.install(base.scheduler())
        self.assertIs(wrapped, heat_stack.Stack._converge_create_or_update)
        self.assertIs(self.native, wrapped._hme_original)
        self.assertIsNotNone(heat_worker.WorkerService.start._hme_original)

    def test_worker_start_runs_heats_then_the_schedulers(self):
        calls = []
        with mock.patch.object(heat_worker.WorkerService, 'start',
                               lambda self: calls.append('heat')):
            convergence.install(base.scheduler(
                worker_started=lambda worker: calls.append('nodes')))
            heat_worker.WorkerService.start(mock.Mock())
        self.assertEqual(['heat', 'nodes'], calls)

    def test_validate_checks_around_heats(self):
        calls = []
        with mock.patch.object(heat_stack.Stack, 'validate',
                               lambda self: calls.append('heat')):
            convergence.install(base.scheduler(
                before_validate=lambda stack: calls.append('before'),
                after_validate=lambda stack: calls.append('after')))
            heat_stack.Stack.validate(mock.Mock())
        self.assertEqual(['before', 'heat', 'after'], calls)

    def test_handled_traversals_go_to_mistral_others_to_heat(self):
        scheduler = base.scheduler()
        convergence.install(scheduler)
        stack = mock.Mock(convergence=True, status='COMPLETE')
        scheduler.handles.return_value = True
        heat_stack.Stack._converge_create_or_update(stack, 'pre')
        scheduler.start.assert_called_once_with(stack, pre_converge='pre')

        scheduler.start.reset_mock()
        scheduler.handles.return_value = False
        with mock.patch.object(self.native, '__wrapped__') as native:
            heat_stack.Stack._converge_create_or_update(
                stack, abandon=True, future_kwarg=1)
        scheduler.start.assert_not_called()
        native.assert_called_once_with(stack, pre_converge=None,
                                       abandon=True, future_kwarg=1)

    def test_errors_mark_the_stack_failed_like_heat(self):
        convergence.install(base.scheduler(
            handles=mock.Mock(return_value=True),
            start=mock.Mock(side_effect=RuntimeError('Mistral down'))))
        stack = mock.Mock(convergence=True, status='IN_PROGRESS',
                          IN_PROGRESS='IN_PROGRESS')
        self.assertRaises(RuntimeError,
                          heat_stack.Stack._converge_create_or_update,
                          stack)
        stack.mark_failed.assert_called_once_with('Mistral down')
