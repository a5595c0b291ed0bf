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

"""An engine is dead only if it stays silent while this one answers."""

import types
from unittest import mock

import fixtures

from heat_mistral_engine.heat.clients import heartbeat
from heat_mistral_engine.heat.clients import liveness
from tests.unit import base


class IsDeadTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.now = 100.0
        self.silences = liveness.Silences(clock=lambda: self.now,
                                          seconds=30)
        self.answering = {'other', 'me'}
        self.asked = []

    def is_alive(self, cnxt, engine_id):
        self.asked.append(engine_id)
        return engine_id in self.answering

    def dead(self):
        return liveness.is_dead(None, 'other', 'me', self.is_alive,
                                self.silences)

    def test_live_engine_costs_one_question(self):
        self.assertFalse(self.dead())
        self.assertEqual(['other'], self.asked)

    def test_silent_engine_is_dead_once_silent_long_enough(self):
        self.answering = {'me'}
        self.assertFalse(self.dead())
        self.assertEqual(['other', 'me'], self.asked)
        self.now += 29
        self.assertFalse(self.dead())
        self.now += 1
        self.assertTrue(self.dead())

    def test_an_answer_starts_the_silence_over(self):
        self.answering = {'me'}
        self.dead()
        self.now += 20
        self.answering = {'me', 'other'}
        self.assertFalse(self.dead())
        self.answering = {'me'}
        self.now += 20
        self.assertFalse(self.dead())

    def test_nobody_answering_means_the_bus_is_down_not_the_engine(self):
        self.answering = {'me'}
        self.dead()
        self.now += 20
        self.answering = set()
        self.assertFalse(self.dead())
        # The silence counted before the bus went down does not count.
        self.answering = {'me'}
        self.now += 20
        self.assertFalse(self.dead())
        self.now += 29
        self.assertFalse(self.dead())
        self.now += 1
        self.assertTrue(self.dead())

    def test_silence_comes_from_heat_conf_by_default(self):
        self.conf.config(group='mistral_scheduler', dead_engine_silence=5)
        self.assertEqual(5, liveness.Silences().seconds)

    def test_default_check_is_heats_listener(self):
        with mock.patch.object(liveness.listener_client,
                               'EngineListenerClient') as client:
            client.return_value.is_alive.return_value = True
            self.assertTrue(liveness.answers('ctx', 'e1'))
        client.assert_called_once_with('e1')
        self.assertFalse(liveness.answers('ctx', None))


class HeartbeatTest(base.TestCase):
    """Silent on the bus but beating in the database: cut off, not dead."""

    def setUp(self):
        super().setUp()
        self.now = 100.0
        self.beat = None
        self.reads = []

        def beats(engine_id):
            self.reads.append(engine_id)
            return self.beat
        self.silences = liveness.Silences(clock=lambda: self.now,
                                          seconds=30, beats=beats)

    def dead(self):
        return liveness.is_dead(None, 'other', 'me',
                                lambda cnxt, engine: engine == 'me',
                                self.silences)

    def test_an_engine_whose_heartbeat_moves_is_never_dead(self):
        self.beat = 1
        for _ in range(10):
            self.assertFalse(self.dead())
            self.now += 10
            self.beat += 1
        # Read when a silence starts and when it would make it dead: not
        # at every check.
        self.assertLessEqual(len(self.reads), 5)

    def test_a_killed_engine_is_dead_in_the_same_time_as_before(self):
        self.beat = 'last beat'
        self.assertFalse(self.dead())
        self.now += 29
        self.assertFalse(self.dead())
        self.now += 1
        self.assertTrue(self.dead())

    def test_a_heartbeat_that_stops_counts_from_the_last_beat_seen(self):
        self.beat = 1
        self.dead()
        self.now += 30
        self.beat = 2
        self.assertFalse(self.dead())       # moved: a silence of its own
        self.now += 29
        self.assertFalse(self.dead())
        self.now += 1
        self.assertTrue(self.dead())

    def test_an_engine_without_a_heartbeat_is_judged_on_the_bus(self):
        self.assertFalse(self.dead())
        self.now += 30
        self.assertTrue(self.dead())

    def test_an_unreadable_heartbeat_is_judged_on_the_bus(self):
        def broken(engine_id):
            raise RuntimeError('database gone')
        self.silences = liveness.Silences(clock=lambda: self.now,
                                          seconds=30, beats=broken)
        self.dead()
        self.now += 30
        self.assertTrue(self.dead())

    def test_an_answer_forgets_the_heartbeat_seen(self):
        self.beat = 1
        self.dead()
        liveness.is_dead(None, 'other', 'me', lambda cnxt, engine: True,
                         self.silences)
        self.now += 30
        self.beat = 2
        self.assertFalse(self.dead())     # a new silence, from beat 2
        self.now += 30
        self.assertTrue(self.dead())


class BeaterTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.rows = [types.SimpleNamespace(id=1, engine_id='e0',
                                           updated_at='t0', created_at='c'),
                     types.SimpleNamespace(id=2, engine_id='e1',
                                           updated_at=None, created_at='c1')]
        self.service = self.useFixture(fixtures.MockPatchObject(
            heartbeat.service_objects, 'Service')).mock
        self.service.get_all.return_value = self.rows

    def test_beat_moves_the_worker_s_own_service_row(self):
        beater = heartbeat.Beater('e1')
        self.assertTrue(beater.beat())
        self.assertTrue(beater.beat())
        self.assertEqual(
            [mock.call(mock.ANY, 2, {'deleted_at': None})] * 2,
            self.service.update_by_id.call_args_list)
        # The row is looked up once.
        self.service.get_all.assert_called_once()

    def test_no_row_yet_moves_nothing(self):
        self.assertFalse(heartbeat.Beater('e9').beat())
        self.service.update_by_id.assert_not_called()

    def test_a_row_purged_is_looked_up_again(self):
        beater = heartbeat.Beater('e1')
        beater.beat()
        self.service.update_by_id.side_effect = (
            heartbeat.exception.EntityNotFound(entity='Service', name=2))
        self.assertFalse(beater.beat())
        self.service.update_by_id.side_effect = None
        self.assertTrue(beater.beat())
        self.assertEqual(2, self.service.get_all.call_count)

    def test_last_beats_by_engine(self):
        with mock.patch.object(heartbeat.context, 'get_admin_context'):
            self.assertEqual({'e0': 't0', 'e1': 'c1'},
                             heartbeat.last_beats())
