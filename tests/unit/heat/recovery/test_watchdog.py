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

"""The watchdog: which nodes of dead engines are taken over, and by whom.

Fakes stand at the boundary: Mistral's action list, Heat's stack and
resource rows (with a compare-and-swap like Heat's ``resource_update``) and
the engine liveness check.
"""

import types
from unittest import mock

from heat.common import context as heat_context
from heat.common import exception

from heat_mistral_engine.heat.store import claims
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine.heat.recovery import watchdog
from tests.unit import base


class FakeRows:
    """Resource rows with Heat's CAS semantics (engine_id + atomic_key)."""

    def __init__(self):
        self.rows = {}
        self.reads = []   # ('row', id) or ('stack', stack id), in order

    def add(self, rid, engine_id=None, atomic_key=3, replaced_by=None,
            stack_id='s1', deleted=False):
        self.rows[rid] = types.SimpleNamespace(
            id=rid, engine_id=engine_id, atomic_key=atomic_key,
            replaced_by=replaced_by, stack_id=stack_id, deleted=deleted)

    def get_obj(self, cnxt, rid, refresh=False, fields=None):
        self.reads.append(('row', rid))
        if rid not in self.rows:
            raise exception.NotFound()
        return types.SimpleNamespace(**vars(self.rows[rid]))

    def get_all_active_by_stack(self, cnxt, stack_id):
        # As Heat's: every row of the stack but the DELETE COMPLETE ones.
        self.reads.append(('stack', stack_id))
        return {rid: types.SimpleNamespace(**vars(row))
                for rid, row in self.rows.items()
                if row.stack_id == stack_id and not row.deleted}

    def select_and_update_by_id(self, cnxt, rid, values,
                                expected_engine_id=None, atomic_key=0):
        row = self.rows[rid]
        if (row.engine_id != expected_engine_id or
                row.atomic_key != atomic_key):
            return False
        row.engine_id = values['engine_id']
        row.atomic_key += 1
        return True


class FakeClaims:
    """Node claims by resource id, with the compare-and-swap of the row."""

    def __init__(self):
        self.claims = {}

    def add(self, rid, engine, state=claims.RUNNING, atomic_key=0):
        self.claims[rid] = claims.Claim(state=state, engine=engine,
                                        action_execution='ax-%d' % rid,
                                        atomic_key=atomic_key)

    def get(self, cnxt, request):
        return self.claims.get(request.resource_id)

    def hand_over(self, cnxt, request, found, engine_id):
        now = self.claims.get(request.resource_id)
        if now is None or now.atomic_key != found.atomic_key:
            return False
        self.add(request.resource_id, engine_id, claims.ADOPTED,
                 found.atomic_key + 1)
        return True


class WatchdogCase(base.TestCase):
    """Fakes of Mistral, Heat's rows and liveness; helpers to fill them."""

    def setUp(self):
        super().setUp()
        # Dead at the first silence; test_silence_* set a real one.
        self.conf.config(group='mistral_scheduler', lost_node_timeout=180,
                         dead_engine_silence=0)
        self.cnxt = heat_context.RequestContext(project_id='p1')
        self.rows = FakeRows()
        self.claims = FakeClaims()
        self.stack = types.SimpleNamespace(status='IN_PROGRESS',
                                           current_traversal='t1')
        self.alive = {'live-engine': True, 'dead-engine': False}
        self.checked_alive = []
        self.actions = []
        self.ran = []
        self.rsrc = mock.Mock(action='CREATE', FAILED='FAILED')
        self.parked = {}
        self.stack_reads = []
        self.tokens = {}

        def take_over(cnxt, row, request, engine_id):
            if self.parked[request.resource_id].atomic_key != row.atomic_key:
                return False
            row = self.parked[request.resource_id] = types.SimpleNamespace(
                input_data={'engine': engine_id},
                atomic_key=row.atomic_key + 1)
            return True
        self.clock = 1000.0
        for target, attr, new in (
                (watchdog.resource_objects.Resource, 'get_obj',
                 self.rows.get_obj),
                (watchdog.resource_objects.Resource,
                 'get_all_active_by_stack',
                 self.rows.get_all_active_by_stack),
                (watchdog.resource_objects.Resource,
                 'select_and_update_by_id',
                 self.rows.select_and_update_by_id),
                (watchdog.stack_objects.Stack, 'get_by_id',
                 self.get_stack),
                (watchdog.check_resource, 'load_resource',
                 lambda *a: (self.rsrc, None, None)),
                (watchdog.parking, 'get',
                 lambda cnxt, request: self.parked.get(request.resource_id)),
                (watchdog.parking, 'take_over', take_over),
                (watchdog.claims, 'get', self.claims.get),
                (watchdog.claims, 'hand_over', self.claims.hand_over)):
            patcher = mock.patch.object(target, attr, new)
            patcher.start()
            self.addCleanup(patcher.stop)

    def get_stack(self, cnxt, sid, **kwargs):
        self.stack_reads.append((sid, kwargs))
        return self.stack if sid == 's1' else None

    def watchdog(self, engine_id='me'):
        runner = mock.Mock(engine_id=engine_id)
        runner.mistral.running_node_actions.return_value = self.actions
        runner.run.side_effect = self.ran.append

        def is_alive(cnxt, engine):
            self.checked_alive.append(engine)
            return self.alive.get(engine, True)

        return watchdog.Watchdog(runner, is_alive=is_alive,
                                 clock=lambda: self.clock,
                                 spawn=lambda f: f())

    def action(self, rid, stack_id='s1', traversal='t1', max_concurrent=0):
        self.actions.append(types.SimpleNamespace(
            id='ax-%d' % rid,
            input={'stack_id': stack_id, 'traversal': traversal,
                   'resource_id': rid, 'is_update': True, 'data': {},
                   'resource_name': 'r%d' % rid,
                   'token': self.token(stack_id, traversal,
                                       max_concurrent)}))

    def token(self, stack_id, traversal, max_concurrent):
        # One token per traversal, as heat-engine seals it once when it
        # starts the execution.
        key = (stack_id, traversal, max_concurrent)
        if key not in self.tokens:
            self.tokens[key] = traversal_token.seal(
                self.cnxt, stack_id, traversal,
                max_concurrent=max_concurrent)
        return self.tokens[key]


class WatchdogTest(WatchdogCase):

    def test_node_locked_by_a_dead_engine_is_taken_over_once(self):
        self.rows.add(1, engine_id='dead-engine')
        self.action(1)
        adopted = self.watchdog('me').scan()
        self.assertEqual(['dead-engine'], [a.dead_engine for a in adopted])
        self.assertEqual(['ax-1'], [r.action_execution_id for r in self.ran])
        self.assertIsNone(self.rows.rows[1].engine_id)
        self.rsrc.state_set.assert_called_once_with(
            'CREATE', 'FAILED', 'Worker went down during resource CREATE')
        # A watchdog that read the row before the swap loses it.
        self.assertFalse(watchdog._claim(None, 1, 'dead-engine', 3))

    def test_nothing_is_taken_over_while_the_bus_is_down(self):
        # With the broker down no engine answers, this one neither: the
        # holder is not dead, the bus is.
        self.alive['me'] = False
        self.rows.add(1, engine_id='dead-engine')
        self.action(1)
        self.assertEqual([], self.watchdog('me').scan())
        self.assertEqual(['dead-engine', 'me'], self.checked_alive)
        self.assertEqual('dead-engine', self.rows.rows[1].engine_id)
        self.assertEqual([], self.ran)
        self.rsrc.state_set.assert_not_called()

    def test_silence_must_last_dead_engine_silence(self):
        # After a broker restart a live engine may reconnect seconds after
        # this one: silent once is not dead.
        self.conf.config(group='mistral_scheduler', dead_engine_silence=30)
        self.rows.add(1, engine_id='dead-engine')
        self.action(1)
        dog = self.watchdog('me')
        self.assertEqual([], dog.scan())
        self.clock += 29
        self.assertEqual([], dog.scan())
        self.assertEqual('dead-engine', self.rows.rows[1].engine_id)
        self.clock += 1
        self.assertEqual(['dead-engine'],
                         [a.dead_engine for a in dog.scan()])

    def test_silence_starts_over_when_the_engine_answers(self):
        self.conf.config(group='mistral_scheduler', dead_engine_silence=30)
        self.rows.add(1, engine_id='dead-engine')
        self.action(1)
        dog = self.watchdog('me')
        dog.scan()
        self.clock += 20
        self.alive['dead-engine'] = True       # it was reconnecting
        self.assertEqual([], dog.scan())
        self.alive['dead-engine'] = False
        self.assertEqual([], dog.scan())
        self.clock += 20
        self.assertEqual([], dog.scan())
        self.clock += 10
        self.assertEqual(1, len(dog.scan()))

    def test_concurrent_watchdogs_adopt_a_node_exactly_once(self):
        self.rows.add(1, engine_id='dead-engine')
        self.action(1)
        dogs = [self.watchdog('e%d' % i) for i in range(3)]
        # All read the row first, then all try to swap.
        real_get = self.rows.get_obj
        snapshot = real_get(None, 1)
        with mock.patch.object(watchdog.resource_objects.Resource,
                               'get_obj', lambda *a, **k: snapshot):
            results = [d.scan() for d in dogs]
        self.assertEqual(1, sum(len(r) for r in results))
        self.assertEqual(1, len(self.ran))

    def test_a_dead_engines_claim_moves_here_before_the_lock(self):
        # Fencing (issue 26): the claim moves first, so that the dead
        # engine, should it come back, neither acts nor reports.
        self.rows.add(1, engine_id='dead-engine')
        self.claims.add(1, 'dead-engine', atomic_key=4)
        self.action(1)
        adopted = self.watchdog('me').scan()
        self.assertEqual([1], [a.request.resource_id for a in adopted])
        self.assertEqual(claims.Claim(state=claims.ADOPTED, engine='me',
                                      action_execution='ax-1',
                                      atomic_key=5), self.claims.claims[1])
        self.assertIsNone(self.rows.rows[1].engine_id)
        self.rsrc.state_set.assert_called_once()
        self.assertEqual(['ax-1'], [r.action_execution_id for r in self.ran])

    def test_a_claim_moved_since_it_was_read_leaves_the_node(self):
        # Another watchdog won it, or the old engine finished.
        self.rows.add(1, engine_id='dead-engine')
        self.claims.add(1, 'dead-engine', atomic_key=4)
        self.action(1)
        read = self.claims.claims[1]
        self.claims.add(1, 'dead-engine', claims.SUCCESS, atomic_key=5)
        with mock.patch.object(watchdog.claims, 'get',
                               lambda cnxt, request: read):
            self.assertEqual([], self.watchdog('me').scan())
        self.assertEqual('dead-engine', self.rows.rows[1].engine_id)
        self.assertEqual([], self.ran)
        self.rsrc.state_set.assert_not_called()

    def test_a_node_handed_over_is_run_even_if_the_old_engine_moved_it(self):
        # The old engine came back between the claim's move and the
        # lock's: it finished the action (its row moved) but, fenced, will
        # not report; the re-run here must, and fails nothing.
        self.rows.add(1, engine_id='dead-engine')
        self.claims.add(1, 'dead-engine')
        self.action(1)
        real_hand_over = self.claims.hand_over

        def hand_over_then_old_engine_finishes(*args):
            moved = real_hand_over(*args)
            self.rows.rows[1].engine_id = None
            self.rows.rows[1].atomic_key += 1
            return moved
        with mock.patch.object(watchdog.claims, 'hand_over',
                               hand_over_then_old_engine_finishes):
            adopted = self.watchdog('me').scan()
        self.assertEqual([1], [a.request.resource_id for a in adopted])
        self.assertEqual(['ax-1'], [r.action_execution_id for r in self.ran])
        self.rsrc.state_set.assert_not_called()

    def test_a_claim_of_another_engine_is_not_moved(self):
        # The dead engine locked the row in an earlier traversal; a live
        # engine runs this traversal's node (waiting for that lock).
        self.rows.add(1, engine_id='dead-engine')
        self.claims.add(1, 'live-engine', atomic_key=2)
        self.action(1)
        self.assertEqual(1, len(self.watchdog('me').scan()))
        self.assertEqual('live-engine', self.claims.claims[1].engine)
        self.assertEqual(claims.RUNNING, self.claims.claims[1].state)

    def test_concurrent_watchdogs_move_a_claim_exactly_once(self):
        self.rows.add(1, engine_id='dead-engine')
        self.claims.add(1, 'dead-engine')
        self.action(1)
        dogs = [self.watchdog('e%d' % i) for i in range(3)]
        snapshot = self.rows.get_obj(None, 1)
        claim = self.claims.claims[1]
        with mock.patch.object(watchdog.resource_objects.Resource,
                               'get_obj', lambda *a, **k: snapshot), \
                mock.patch.object(watchdog.claims, 'get',
                                  lambda cnxt, request: claim):
            results = [d.scan() for d in dogs]
        self.assertEqual(1, sum(len(r) for r in results))
        self.assertEqual('e0', self.claims.claims[1].engine)
        self.assertEqual(1, len(self.ran))

    def test_node_locked_by_a_live_engine_or_this_one_is_left(self):
        self.rows.add(1, engine_id='live-engine')
        self.rows.add(2, engine_id='me')
        self.action(1)
        self.action(2)
        self.assertEqual([], self.watchdog('me').scan())
        self.assertEqual(['live-engine'], self.checked_alive)
        self.assertEqual([], self.ran)

    def test_liveness_is_asked_once_per_engine_per_scan(self):
        for rid in (1, 2, 3):
            self.rows.add(rid, engine_id='live-engine')
            self.action(rid)
        self.watchdog().scan()
        self.assertEqual(['live-engine'], self.checked_alive)

    def test_stack_row_is_read_once_per_traversal_per_scan(self):
        # Hundreds of nodes of one traversal run at once: one read of the
        # stack row (without its template) for all of them.
        for rid in (1, 2, 3):
            self.rows.add(rid, engine_id='dead-engine')
            self.action(rid)
        self.action(4, traversal='t0')
        dog = self.watchdog()
        self.assertEqual(3, len(dog.scan()))
        self.assertEqual([('s1', {'eager_load': False})] * 2,
                         self.stack_reads)
        dog.scan()     # a new scan reads the row again
        self.assertEqual(4, len(self.stack_reads))

    def test_token_is_checked_for_each_node_despite_the_cache(self):
        # A node whose input pairs a traversal's token with another
        # stack or traversal is refused, even after that token was
        # accepted for its own nodes in the same scan.
        for rid in (1, 2, 3):
            self.rows.add(rid, engine_id='dead-engine')
        self.action(1)
        self.action(2)
        self.action(3)
        self.actions[1].input['traversal'] = 't0'
        self.actions[2].input['stack_id'] = 's2'
        adopted = self.watchdog().scan()
        self.assertEqual([1], [a.request.resource_id for a in adopted])
        self.assertEqual('dead-engine', self.rows.rows[2].engine_id)
        self.assertEqual('dead-engine', self.rows.rows[3].engine_id)

    def test_unlocked_node_is_lost_only_after_the_timeout(self):
        self.rows.add(1)
        self.action(1)
        self.rows.add(2)
        self.action(2)
        dog, other = self.watchdog(), self.watchdog('other')
        self.assertEqual([], dog.scan())     # first seen unlocked
        self.assertEqual([], other.scan())
        self.clock += 100
        self.rows.rows[2].atomic_key += 2     # 2 ran meanwhile (lock+unlock)
        self.assertEqual([], dog.scan())
        self.clock += 80                      # 1: unchanged for 180 s
        adopted = dog.scan()
        self.assertEqual([(1, 'lost')],
                         [(a.request.resource_id, a.why) for a in adopted])
        self.assertEqual(['ax-1'], [r.action_execution_id for r in self.ran])
        # The claim moved the row's key: the other watchdog starts over.
        self.assertEqual([], other.scan())
        self.rsrc.state_set.assert_not_called()

    def park(self, rid, engine):
        self.parked[rid] = types.SimpleNamespace(
            input_data={'engine': engine}, atomic_key=1)

    def test_capped_node_parked_in_a_live_engine_is_left(self):
        # Under a concurrency cap a node may wait for a slot for any time.
        self.rows.add(1)
        self.action(1, max_concurrent=2)
        self.park(1, 'live-engine')
        dog = self.watchdog()
        dog.scan()
        self.clock += 10000
        self.assertEqual([], dog.scan())
        self.assertEqual([], self.ran)

    def test_capped_node_parked_in_a_dead_engine_is_taken_over_at_once(self):
        self.rows.add(1)
        self.action(1, max_concurrent=2)
        self.park(1, 'dead-engine')
        dogs = [self.watchdog('me'), self.watchdog('other')]
        adopted = [d.scan() for d in dogs]
        self.assertEqual([[('dead-engine', 'dead-engine')], []],
                         [[(a.why, a.dead_engine) for a in found]
                          for found in adopted])
        self.assertEqual(['ax-1'], [r.action_execution_id for r in self.ran])
        self.assertEqual({'engine': 'me'}, self.parked[1].input_data)
        # A parked node had not started: nothing to mark FAILED.
        self.rsrc.state_set.assert_not_called()

    def test_capped_node_parked_is_left_while_the_bus_is_down(self):
        self.alive['me'] = False
        self.rows.add(1)
        self.action(1, max_concurrent=2)
        self.park(1, 'dead-engine')
        self.assertEqual([], self.watchdog('me').scan())
        self.assertEqual({'engine': 'dead-engine'}, self.parked[1].input_data)

    def test_capped_node_neither_locked_nor_parked_is_lost_after_timeout(self):
        # Its cast was lost (the broker restarted): no engine has it.
        self.rows.add(1)
        self.action(1, max_concurrent=2)
        dog = self.watchdog()
        self.assertEqual([], dog.scan())
        self.clock += 180
        self.assertEqual([(1, 'lost')], [(a.request.resource_id, a.why)
                                         for a in dog.scan()])

    def test_memory_of_finished_actions_is_dropped(self):
        self.rows.add(1)
        self.action(1)
        dog = self.watchdog()
        dog.scan()
        self.actions.clear()
        dog.scan()
        self.assertEqual({}, dog._seen)

    def test_a_replaced_node_is_judged_by_its_replacement(self):
        # 1 was replaced by 11, which a live engine creates: leave it.
        self.rows.add(1, replaced_by=11)
        self.rows.add(11, engine_id='live-engine')
        # 2 was replaced by 12, done but not reported yet: running 2 again
        # would replace it once more.
        self.rows.add(2, replaced_by=12)
        self.rows.add(12)
        # 3 was replaced by 13, whose engine died: 13 is taken over.
        self.rows.add(3, replaced_by=13)
        self.rows.add(13, engine_id='dead-engine')
        for rid in (1, 2, 3):
            self.action(rid)
        adopted = self.watchdog().scan()
        self.assertEqual([(3, 'dead-engine')],
                         [(a.request.resource_id, a.why) for a in adopted])
        self.assertIsNone(self.rows.rows[13].engine_id)
        self.assertEqual('live-engine', self.rows.rows[11].engine_id)

    def test_nodes_of_finished_or_superseded_stacks_are_left(self):
        self.rows.add(1, engine_id='dead-engine')
        self.action(1, traversal='t0')   # superseded traversal
        self.action(1, stack_id='gone')  # stack deleted
        self.assertEqual([], self.watchdog().scan())
        self.stack.status = 'COMPLETE'
        self.actions[:] = []
        self.action(1)
        self.assertEqual([], self.watchdog().scan())
        self.assertEqual('dead-engine', self.rows.rows[1].engine_id)

    def test_deleted_row_and_bad_input_are_skipped(self):
        self.action(9)                               # no resource row
        self.actions.append(types.SimpleNamespace(
            id='ax-bad', input={'stack_id': 's1'}))
        self.assertEqual([], self.watchdog().scan())


class BulkReadWatchdogTest(WatchdogTest):
    """Every case above again, with the rows read per stack in one query."""

    def setUp(self):
        super().setUp()
        patcher = mock.patch.object(watchdog, 'BULK_READ_MIN', 1)
        patcher.start()
        self.addCleanup(patcher.stop)


class ScanReadsTest(WatchdogCase):
    """How many queries a scan makes for the resource rows."""

    def test_many_nodes_of_a_stack_cost_one_query(self):
        count = watchdog.BULK_READ_MIN
        for rid in range(1, count + 1):
            self.rows.add(rid, engine_id='live-engine')
            self.action(rid)
        self.rows.add(99, engine_id='dead-engine', stack_id='s2')
        dog = self.watchdog()
        self.assertEqual([], dog.scan())
        self.assertEqual([('stack', 's1')], self.rows.reads)
        dog.scan()    # the next scan reads the rows again
        self.assertEqual([('stack', 's1')] * 2, self.rows.reads)

    def test_a_few_nodes_are_read_one_by_one(self):
        for rid in range(1, watchdog.BULK_READ_MIN):
            self.rows.add(rid, engine_id='live-engine')
            self.action(rid)
        self.watchdog().scan()
        self.assertEqual(
            [('row', rid) for rid in range(1, watchdog.BULK_READ_MIN)],
            self.rows.reads)

    def test_rows_missing_from_the_query_are_read_alone(self):
        # DELETE COMPLETE rows are not in Heat's query; a node of another
        # stack's resource is not either. Both are judged on their row.
        count = watchdog.BULK_READ_MIN
        for rid in range(1, count + 1):
            self.rows.add(rid, engine_id='live-engine')
            self.action(rid)
        self.rows.add(50, engine_id='dead-engine', deleted=True)
        self.rows.add(60, engine_id='dead-engine', stack_id='s2')
        self.action(50)
        self.action(60)
        adopted = self.watchdog().scan()
        self.assertEqual([50, 60], sorted(a.request.resource_id
                                          for a in adopted))
        self.assertEqual([('stack', 's1'), ('row', 50), ('row', 60)],
                         self.rows.reads)


class PeriodicTest(base.TestCase):

    def test_tasks_run_at_their_interval_and_survive_errors(self):
        clock = [0.0]
        calls = []
        periodic = None

        def wait(seconds):
            clock[0] += seconds
            if clock[0] > 100:
                periodic.stop()

        def failing():
            calls.append(('b', clock[0]))
            raise RuntimeError('boom')

        periodic = watchdog.Periodic(
            [(10, lambda: calls.append(('a', clock[0]))), (40, failing),
             (0, lambda: calls.append(('never', 0)))],
            clock=lambda: clock[0], wait=wait)
        with mock.patch.object(watchdog.random, 'uniform',
                               return_value=0.0):
            periodic.run()
        self.assertEqual(11, len([c for c in calls if c[0] == 'a']))
        self.assertEqual([0.0, 40.0, 80.0],
                         [t for name, t in calls if name == 'b'])
        self.assertNotIn('never', [c[0] for c in calls])
