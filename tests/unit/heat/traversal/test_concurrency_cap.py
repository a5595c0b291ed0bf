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

"""The limit of resource actions at once: tag, slots and admission.

Slots are real rows of Heat's ``sync_point`` table on Heat's sqlite test
database, written by Heat's own functions; two ``Slots`` objects with
different engine ids stand for two heat-engines.
"""

import threading
from unittest import mock

import fixtures
from heat.common import exception
from heat.common import template_format
from heat.engine import resources
from heat.engine import stack as heat_stack
from heat.engine import sync_point
from heat.tests import utils as heat_test_utils

from heat_mistral_engine.heat.node import admission
from heat_mistral_engine.heat.traversal import concurrency_cap
from heat_mistral_engine.heat.patches import convergence
from heat_mistral_engine.heat.startup import wiring
from heat_mistral_engine.heat.node import runner as node_runner
from heat_mistral_engine.heat.store import parking
from heat_mistral_engine.heat.store import slots
from heat_mistral_engine.heat.traversal import starter
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine import protocol
from tests.unit import base

TAG = concurrency_cap.TAG
TEMPLATE = template_format.parse("""
heat_template_version: 2021-04-16
resources:
  a: {type: OS::Heat::None}
""")


class TagTest(base.TestCase):

    def test_no_tag_means_no_override(self):
        self.assertIsNone(concurrency_cap.tag_value(['x', 'y=1']))
        self.assertIsNone(concurrency_cap.tag_value(None))

    def test_tag_value(self):
        self.assertEqual(3, concurrency_cap.tag_value(['a', TAG + '=3']))
        self.assertEqual(0, concurrency_cap.tag_value([TAG + '=0']))

    def test_bad_values_are_refused_naming_the_tag(self):
        for value in ('two', '-1', '1.5', '', '٣'):
            exc = self.assertRaises(concurrency_cap.BadCapTag,
                                    concurrency_cap.tag_value,
                                    ['%s=%s' % (TAG, value)])
            self.assertIn('Stack tag %s=%s is invalid' % (TAG, value),
                          str(exc))
            self.assertIn('whole number >= 0', str(exc))

    def test_tag_given_twice_is_refused(self):
        exc = self.assertRaises(concurrency_cap.BadCapTag,
                                concurrency_cap.tag_value,
                                [TAG + '=1', TAG + '=2'])
        self.assertIn('given 2 times', str(exc))

    def test_tag_wins_over_heat_conf(self):
        self.conf.config(group='mistral_scheduler',
                         max_concurrent_resources=4)
        self.assertEqual(4, concurrency_cap.traversal_cap([], 10))
        self.assertEqual(2, concurrency_cap.traversal_cap([TAG + '=2'], 10))
        self.assertEqual(0, concurrency_cap.traversal_cap([TAG + '=0'], 10))

    def test_limit_a_traversal_cannot_reach_is_none(self):
        self.assertEqual(0, concurrency_cap.traversal_cap([TAG + '=5'], 5))
        self.assertEqual(4, concurrency_cap.traversal_cap([TAG + '=4'], 5))

    def test_default_is_unlimited(self):
        self.assertEqual(0, concurrency_cap.traversal_cap([], 1000))

    def test_bad_tag_fails_create_and_update_not_delete(self):
        for action in ('CREATE', 'UPDATE'):
            stack = mock.Mock(tags=[TAG + '=x'], action=action,
                              CREATE='CREATE', UPDATE='UPDATE')
            self.assertRaises(concurrency_cap.BadCapTag,
                              starter.traversal_cap, stack, 10)
        self.conf.config(group='mistral_scheduler',
                         max_concurrent_resources=3)
        for action in ('DELETE', 'ROLLBACK'):
            stack = mock.Mock(tags=[TAG + '=x'], action=action,
                              CREATE='CREATE', UPDATE='UPDATE')
            self.assertEqual(3, starter.traversal_cap(stack, 10))

    def test_token_carries_the_limit(self):
        ctx = heat_test_utils.dummy_context()
        token = traversal_token.seal(ctx, 's', 't', max_concurrent=7)
        self.assertEqual(7, traversal_token.open_token(
            token, 's', 't').max_concurrent)
        token = traversal_token.seal(ctx, 's', 't')
        self.assertEqual(0, traversal_token.open_token(
            token, 's', 't').max_concurrent)


def use_heat_test_db(test):
    """Heat's sqlite test database and resource plugins, keyless."""
    resources.initialise()
    test.conf.config(keystone_backend='heat.engine.clients.os.keystone.'
                                      'fake_keystoneclient.FakeKeystoneClient')
    heat_test_utils.setup_dummy_db()
    test.addCleanup(heat_test_utils.reset_dummy_db)


class DatabaseTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        use_heat_test_db(self)
        self.addCleanup(heat_test_utils.reset_dummy_db)
        self.ctx = heat_test_utils.dummy_context()
        self.stack = heat_test_utils.parse_stack(TEMPLATE)
        self.traversal = 'trav-1'
        self.stack.current_traversal = self.traversal
        self.stack.store()
        self.alive = {}
        # A silent engine is dead at once here (liveness tests the wait).
        self.conf.config(group='mistral_scheduler', dead_engine_silence=0)

    def engine(self, engine_id):
        return slots.Slots(engine_id, is_alive=self.is_alive)

    def is_alive(self, cnxt, engine_id):
        self.alive.setdefault('asked', []).append(engine_id)
        return self.alive.get(engine_id, True)

    def make_slots(self, count):
        slots.create(self.ctx, self.stack.id, self.traversal, count)

    def request(self, n, traversal=None):
        return protocol.NodeRequest.from_dict(protocol.node_request(
            action_execution_id='ax-%d' % n, stack_id=self.stack.id,
            traversal=traversal or self.traversal, resource_id=n,
            is_update=True, data={}, token='tok'))

    def acquire(self, engine, n, count=2):
        return engine.acquire(self.ctx, self.stack.id, self.traversal,
                              count, self.request(n))

    def holders(self, count=2):
        return [sync_point.get(self.ctx, slots.slot_entity(i),
                               self.traversal, True).input_data
                for i in range(count)]


class SlotsTest(DatabaseTestCase):

    def test_at_most_count_holders_across_engines(self):
        self.make_slots(2)
        one, two = self.engine('e1'), self.engine('e2')
        self.assertEqual(0, self.acquire(one, 1))
        self.assertEqual(1, self.acquire(two, 2))
        self.assertIsNone(self.acquire(one, 3))
        self.assertIsNone(self.acquire(two, 4))
        self.assertEqual(['ax-1', 'ax-2'],
                         [h['action_execution'] for h in self.holders()])
        self.assertEqual(['e1', 'e2'], [h['engine'] for h in self.holders()])

    def test_release_frees_the_slot_for_the_next_node(self):
        self.make_slots(2)
        one, two = self.engine('e1'), self.engine('e2')
        self.acquire(one, 1)
        self.acquire(two, 2)
        self.assertTrue(one.release(self.ctx, self.traversal, 0,
                                    self.request(1)))
        self.assertEqual(0, self.acquire(two, 3))

    def test_only_the_holder_releases(self):
        self.make_slots(2)
        one = self.engine('e1')
        self.acquire(one, 1)
        self.assertFalse(one.release(self.ctx, self.traversal, 0,
                                     self.request(2)))
        self.assertEqual('ax-1', self.holders()[0]['action_execution'])

    def test_compare_and_swap_refuses_a_stale_read(self):
        self.make_slots(1)
        one, two = self.engine('e1'), self.engine('e2')
        stale = sync_point.get(self.ctx, 'slot-0', self.traversal, True)
        self.assertEqual(0, self.acquire(one, 1, count=1))
        # e2 read the row before e1 took it: its write must not win.
        self.assertFalse(two._take(self.ctx, stale, self.traversal, 0,
                                   slots.holder('e2', self.request(2))))
        self.assertEqual('e1', self.holders(1)[0]['engine'])

    def test_concurrent_takers_get_distinct_slots(self):
        self.make_slots(3)
        engines = [self.engine('e%d' % i) for i in range(3)]
        got = []
        for n in range(6):
            got.append(self.acquire(engines[n % 3], n, count=3))
        self.assertEqual([0, 1, 2, None, None, None], got)

    def test_slot_of_a_dead_engine_is_taken_over(self):
        self.make_slots(2)
        dead, live = self.engine('dead'), self.engine('live')
        self.acquire(dead, 1)
        self.acquire(live, 2)
        self.alive['dead'] = False
        self.assertEqual(0, self.acquire(live, 3))
        self.assertEqual('ax-3', self.holders()[0]['action_execution'])
        # The dead engine's node can no longer give it back.
        self.assertFalse(dead.release(self.ctx, self.traversal, 0,
                                      self.request(1)))
        self.assertEqual('ax-3', self.holders()[0]['action_execution'])

    def test_no_slot_is_taken_over_while_the_bus_is_down(self):
        self.make_slots(1)
        dead, live = self.engine('dead'), self.engine('live')
        self.acquire(dead, 1, count=1)
        # Broker down: no engine answers, the asking one neither.
        self.alive.update(dead=False, live=False)
        self.assertIsNone(self.acquire(live, 2, count=1))
        self.assertEqual(['dead', 'live'], self.alive['asked'])
        self.assertEqual('ax-1', self.holders(1)[0]['action_execution'])

    def test_live_engines_are_asked_once_in_a_while(self):
        self.make_slots(1)
        other, me = self.engine('other'), self.engine('me')
        self.acquire(other, 1, count=1)
        for n in range(3):
            self.assertIsNone(self.acquire(me, 10 + n, count=1))
        self.assertEqual(['other'], self.alive['asked'])

    def test_own_slot_of_a_node_no_longer_running_is_taken_over(self):
        self.make_slots(1)
        self.acquire(self.engine('e1'), 1, count=1)
        # The same engine, without the record of that node (its release
        # failed): the slot is leaked and taken over.
        self.assertEqual(0, self.acquire(self.engine('e1'), 2, count=1))

    def test_own_running_node_keeps_its_slot(self):
        self.make_slots(1)
        one = self.engine('e1')
        self.acquire(one, 1, count=1)
        self.assertIsNone(self.acquire(one, 2, count=1))
        self.assertNotIn('asked', self.alive)

    def test_slots_go_with_the_traversal(self):
        self.make_slots(2)
        one = self.engine('e1')
        self.acquire(one, 1)
        sync_point.delete_all(self.ctx, self.stack.id, self.traversal)
        self.assertRaises(slots.SlotsGone, self.acquire, one, 2)
        self.assertFalse(one.release(self.ctx, self.traversal, 0,
                                     self.request(1)))


class AdmissionTest(DatabaseTestCase):
    """Admission with real slots; the runner is a stand-in.

    Single-threaded (Heat's sqlite test database is one connection): the
    test serves parked nodes itself and nodes that get a slot run inline.
    """

    def setUp(self):
        super().setUp()
        self.runner = mock.Mock(engine_id='e1')
        self.runner.end_unrun.side_effect = (
            lambda request, reason, grant=None: node_runner.Outcome(
                error=reason))
        self.ran = []

        def run(request, grant=None):
            self.ran.append(request.resource_id)
            return node_runner.Outcome(output={})

        self.runner.run.side_effect = run
        self.nodes = admission.Admission(
            self.runner, slots=self.engine('e1'), background=False,
            spawn=lambda func, *args: func(*args))
        self.finished = {}
        self.cap = 2
        self.useFixture(fixtures.MockPatchObject(
            traversal_token, 'open_token',
            side_effect=lambda *args: traversal_token.Grant(
                self.ctx, False, self.cap)))

    def submit(self, n):
        self.nodes.submit(self.request(n),
                          lambda outcome: self.finished.setdefault(n, outcome))

    def free(self, count=2):
        return [not h for h in self.holders(count)]

    def test_unlimited_traversal_does_no_slot_work(self):
        self.nodes.slots = mock.Mock()
        self.cap = 0
        self.submit(1)
        self.nodes.slots.acquire.assert_not_called()
        self.assertEqual([1], self.ran)
        self.assertIn(1, self.finished)

    def test_slot_is_released_after_success(self):
        self.make_slots(2)
        self.submit(1)
        self.assertEqual([1], self.ran)
        self.assertIsNone(self.finished[1].error)
        self.assertEqual([True, True], self.free())

    def test_slot_is_held_while_the_node_runs(self):
        self.make_slots(2)
        seen = []
        self.runner.run.side_effect = (
            lambda request, grant=None: seen.append(self.free()))
        self.submit(1)
        self.assertEqual([[False, True]], seen)
        self.assertEqual([True, True], self.free())

    def test_slot_is_released_after_failure(self):
        self.make_slots(2)
        self.runner.run.side_effect = (
            lambda request, grant=None: node_runner.Outcome(error='boom'))
        self.submit(1)
        self.assertEqual('boom', self.finished[1].error)
        self.assertEqual([True, True], self.free())

    def test_slot_is_released_after_an_unexpected_error(self):
        self.make_slots(2)
        self.runner.run.side_effect = RuntimeError('bug')
        self.submit(1)
        self.assertIs(self.runner.fail_unexpectedly.return_value,
                      self.finished[1])
        self.assertEqual([True, True], self.free())

    def fill(self):
        """Both slots busy: one node of another engine, one of this one."""
        self.make_slots(2)
        self.acquire(self.engine('e2'), 8)
        self.assertEqual(1, self.nodes.slots.acquire(
            self.ctx, self.stack.id, self.traversal, 2, self.request(9)))

    def test_node_waits_without_holding_the_thread_then_runs(self):
        self.fill()
        self.submit(3)
        # submit returned without running it: the RPC thread is free.
        self.assertEqual(1, self.nodes.parked())
        self.assertEqual([], self.ran)
        self.assertNotIn(3, self.finished)
        self.nodes.serve_parked()
        self.assertEqual([], self.ran)
        # This engine's node 9 ends and gives its slot back.
        self.nodes._release(self.ctx, self.request(9), 1)
        self.nodes.serve_parked()
        self.assertEqual([3], self.ran)
        self.assertIsNone(self.finished[3].error)
        self.assertEqual(0, self.nodes.parked())
        self.assertEqual([False, True], self.free())

    def test_parked_nodes_run_oldest_first_as_slots_free(self):
        started = []    # nodes given a slot, still running
        self.nodes._spawn = lambda func, *args: started.append((func, args))
        self.fill()
        for n in (3, 4, 5):
            self.submit(n)
        self.nodes._release(self.ctx, self.request(9), 1)
        self.nodes.serve_parked()
        self.assertEqual([3], [a[0].request.resource_id for f, a in started])
        self.assertEqual([False, False], self.free())
        self.engine('e2').release(self.ctx, self.traversal, 0,
                                  self.request(8))
        self.nodes.serve_parked()
        self.assertEqual([3, 4], [a[0].request.resource_id
                                  for f, a in started])
        for func, args in started:
            func(*args)
        self.assertEqual([3, 4], self.ran)
        self.nodes.serve_parked()
        func, args = started[-1]
        func(*args)
        self.assertEqual([3, 4, 5], self.ran)
        self.assertEqual([True, True], self.free())

    def test_parked_node_of_a_superseded_traversal_ends(self):
        self.fill()
        self.submit(3)
        self.stack.current_traversal = 'trav-2'
        self.stack.store()
        self.nodes.serve_parked()
        self.assertIn('traversal trav-1 of stack %s was superseded by '
                      'trav-2' % self.stack.id, self.finished[3].error)
        self.runner.end_unrun.assert_called_once()
        self.assertEqual([], self.ran)
        self.assertEqual(0, self.nodes.parked())

    def test_parked_node_of_an_ended_traversal_ends(self):
        self.fill()
        self.submit(3)
        sync_point.delete_all(self.ctx, self.stack.id, self.traversal)
        self.nodes.serve_parked()
        self.assertEqual('traversal trav-1 of stack %s has ended'
                         % self.stack.id, self.finished[3].error)
        self.assertEqual([], self.ran)

    def test_parked_node_times_out_with_the_stack(self):
        self.fill()
        self.submit(3)
        self.runner.fail_traversal.return_value = node_runner.Outcome(
            error='Timed out')
        with mock.patch.object(heat_stack.Stack, 'has_timed_out',
                               return_value=True):
            self.nodes.serve_parked()
        self.assertEqual('Timed out', self.finished[3].error)
        stack, reason = self.runner.fail_traversal.call_args[0]
        self.assertEqual((self.stack.id, 'Timed out'), (stack.id, reason))
        self.assertEqual([], self.ran)

    def test_parked_node_takes_over_from_a_dead_engine(self):
        self.useFixture(fixtures.MonkeyPatch(
            'heat_mistral_engine.heat.store.slots.ALIVE_TTL', 0))
        self.fill()
        self.submit(3)
        self.nodes.serve_parked()
        self.assertEqual([], self.ran)
        self.alive['e2'] = False
        self.nodes.serve_parked()
        self.assertEqual([3], self.ran)

    def parking_holder(self, n):
        return parking.holder(parking.get(self.ctx, self.request(n)))

    def test_parked_node_is_recorded_with_its_engine_until_it_leaves(self):
        self.fill()
        self.submit(3)
        self.assertEqual('e1', self.parking_holder(3))
        self.nodes._release(self.ctx, self.request(9), 1)
        self.nodes.serve_parked()
        self.assertEqual([3], self.ran)
        self.assertIsNone(self.parking_holder(3))

    def test_parked_node_taken_over_by_another_engine_does_not_run_here(self):
        self.fill()
        self.submit(3)
        row = parking.get(self.ctx, self.request(3))
        self.assertTrue(parking.take_over(self.ctx, row, self.request(3),
                                          'e2'))
        # A second taker that read the same row loses.
        self.assertFalse(parking.take_over(self.ctx, row, self.request(3),
                                           'e3'))
        self.nodes._release(self.ctx, self.request(9), 1)
        self.nodes.serve_parked()
        self.assertEqual([], self.ran)
        self.assertIn('taken over', self.finished[3].error)
        # Mistral is not told: e2 answers for the node. The slot is free.
        self.runner.end_unrun.assert_not_called()
        self.assertEqual('e2', self.parking_holder(3))
        self.assertEqual([False, True], self.free())


class WaitingThreadTest(base.TestCase):
    """The thread that serves parked nodes (no database: slots mocked)."""

    def test_thread_runs_a_parked_node_once_a_slot_frees(self):
        runner = mock.Mock(engine_id='e1')
        runner.run.return_value = node_runner.Outcome(output={})
        free = threading.Event()
        slots_ = mock.Mock()
        slots_.acquire.side_effect = lambda *args: 0 if free.is_set() \
            else None
        nodes = admission.Admission(runner, slots=slots_, poll_seconds=0.01)
        self.addCleanup(nodes.close)
        request = protocol.NodeRequest.from_dict(protocol.node_request(
            action_execution_id='ax', stack_id='s', traversal='t',
            resource_id=1, is_update=True, data={}, token='tok'))
        done = threading.Event()
        stack = mock.Mock(current_traversal='t')
        stack.has_timed_out.return_value = False
        grant = traversal_token.Grant(mock.Mock(), False, 1)
        with mock.patch.object(traversal_token, 'open_token',
                               return_value=grant), \
                mock.patch.object(heat_stack.Stack, 'load',
                                  return_value=stack):
            nodes.submit(request, lambda outcome: done.set())
            self.assertEqual(1, nodes.parked())
            free.set()
            self.assertTrue(done.wait(10))
        runner.run.assert_called_once_with(request, grant)
        slots_.release.assert_called_once_with(grant.context, 't', 0,
                                               request)
        self.assertEqual(0, nodes.parked())


class ValidateTest(base.TestCase):

    def setUp(self):
        super().setUp()
        use_heat_test_db(self)
        base.restore_patched_heat(self)
        convergence.install(wiring.scheduler())

    def test_bad_tag_is_refused_when_the_stack_is_validated(self):
        stack = heat_test_utils.parse_stack(TEMPLATE, tags=[TAG + '=lots'])
        exc = self.assertRaises(exception.StackValidationFailed,
                                stack.validate)
        self.assertIn('Stack tag %s=lots is invalid' % TAG, str(exc))

    def test_good_tag_passes(self):
        stack = heat_test_utils.parse_stack(TEMPLATE, tags=[TAG + '=2'])
        stack.validate()
