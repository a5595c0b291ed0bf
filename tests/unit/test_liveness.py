"""An engine is dead only if it does not answer while this one does."""

from unittest import mock

from heat_mistral_engine.heat import liveness
from tests.unit import base


class IsDeadTest(base.TestCase):

    def check(self, answering):
        asked = []

        def is_alive(cnxt, engine_id):
            asked.append(engine_id)
            return engine_id in answering
        return liveness.is_dead(None, 'other', 'me', is_alive), asked

    def test_live_engine_costs_one_question(self):
        self.assertEqual((False, ['other']), self.check({'other', 'me'}))

    def test_silent_engine_is_dead_when_this_one_answers(self):
        self.assertEqual((True, ['other', 'me']), self.check({'me'}))

    def test_nobody_answering_means_the_bus_is_down_not_the_engine(self):
        self.assertEqual((False, ['other', 'me']), self.check(set()))

    def test_default_check_is_heats_listener(self):
        with mock.patch.object(liveness.listener_client,
                               'EngineListenerClient') as client:
            client.return_value.is_alive.return_value = True
            self.assertTrue(liveness.answers('ctx', 'e1'))
        client.assert_called_once_with('e1')
        self.assertFalse(liveness.answers('ctx', None))
