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

from unittest import mock

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
