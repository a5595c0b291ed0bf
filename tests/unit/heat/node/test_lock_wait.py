"""A node waiting for a resource lock held by an earlier traversal."""

import types
from unittest import mock

from heat_mistral_engine.heat.clients import liveness
from heat_mistral_engine.heat.node import runner as node_runner
from tests.unit import base


class LockWaitTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.runner = node_runner.NodeRunner('me', mock.Mock(),
                                             mistral=mock.Mock())
        self.request = types.SimpleNamespace(traversal='t2', stack_id='s')
        self.stack = mock.Mock(id='s', current_traversal='t2')
        self.stack.has_timed_out.return_value = False
        self.rsrc = mock.Mock(id=5, action='UPDATE', FAILED='FAILED')
        self.rsrc.name = 'member'
        self.patch('time.sleep')
        self.load = self.patch('heat.engine.stack.Stack.load',
                               return_value=self.stack)

    def patch(self, target, **kwargs):
        patcher = mock.patch(target, **kwargs)
        self.addCleanup(patcher.stop)
        return patcher.start()

    def holders(self, *engines):
        rows = [mock.Mock(engine_id=e) for e in engines]
        self.patch('heat.objects.resource.Resource.get_obj',
                   side_effect=rows)
        return rows

    def wait(self, dead=False):
        with mock.patch.object(liveness, 'is_dead', return_value=dead):
            self.runner._wait_for_lock(mock.Mock(), self.rsrc, self.stack,
                                       self.request)

    def test_a_live_holder_is_asked_once_to_give_way(self):
        # As Heat's CheckResource: a nested stack cancels its update.
        self.holders('other', 'other', 'other', None)
        self.wait()
        self.rsrc.handle_preempt.assert_called_once_with()
        self.rsrc.state_set.assert_not_called()

    def test_a_failed_preemption_only_means_a_longer_wait(self):
        self.holders('other', 'other', None)
        self.rsrc.handle_preempt.side_effect = RuntimeError('not cancellable')
        self.wait()
        self.rsrc.handle_preempt.assert_called_once_with()

    def test_a_dead_holders_lock_is_taken_over_without_preemption(self):
        (row,) = self.holders('dead-engine')
        self.wait(dead=True)
        self.rsrc.handle_preempt.assert_not_called()
        row.update_and_save.assert_called_once_with({'engine_id': None})
        self.rsrc.state_set.assert_called_once_with(
            'UPDATE', 'FAILED', 'Worker went down during resource UPDATE')

    def test_a_free_lock_is_not_waited_for(self):
        self.holders(None)
        self.wait()
        self.rsrc.handle_preempt.assert_not_called()
