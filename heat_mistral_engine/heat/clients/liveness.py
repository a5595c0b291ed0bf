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

"""Is an engine dead, or is the message bus down? (runs in heat-engine)

Heat's liveness check (``EngineListenerClient.is_alive``) is an RPC call
to the engine's listener that returns False when no answer comes within
``engine_life_check_timeout``. While the broker is down or restarting, no
engine answers, so every live engine would look dead: taking over their
resource locks, claims or slots then runs resources that are still
running a second time. So an engine is called dead here only if

* this engine's own listener answers the same check (else the bus, not
  the engine, failed), and
* it has stayed silent for ``[mistral_scheduler] dead_engine_silence``
  seconds of such checks: after a broker restart the engines reconnect one
  by one (oslo.messaging backs off up to 30 s between attempts), so the
  asking engine may be back while a live one is not yet (seen on the local
  cloud: a running resource taken over one second after the broker
  returned), and
* its heartbeat in Heat's database (``clients.heartbeat``: the updated_at of
  its service row, moved every ``engine_heartbeat_interval`` seconds) did
  not move during that silence. An engine cut off from the broker alone
  (a network partition, its AMQP connection stuck) still beats: it keeps
  its resource nodes, finishes them and reports them through Mistral's
  HTTP API, so none runs a second time (issue 26). Its silence starts over
  at each beat seen. The heartbeat is read twice per silence (when it
  starts and when it would make the engine dead), never compared with this
  host's clock: only whether it changed counts. An engine without a
  service row is judged by the liveness check alone.
"""

import threading
import time

from heat.rpc import listener_client
from oslo_config import cfg
from oslo_log import log as logging

from heat_mistral_engine import config
from heat_mistral_engine.heat.clients import heartbeat

LOG = logging.getLogger(__name__)


def answers(cnxt, engine_id):
    """Heat's own check: does ``engine_id``'s listener answer?"""
    if not engine_id:
        return False
    return listener_client.EngineListenerClient(engine_id).is_alive(cnxt)


class Silences:
    """Since when each engine has been silent; thread-safe.

    :param clock: ``f() -> seconds`` (monotonic), for tests.
    :param seconds: the silence that makes an engine dead; default
        ``[mistral_scheduler] dead_engine_silence``, read at each check.
    :param beats: ``f(engine_id) -> heartbeat value or None`` (None: no
        heartbeat known); ``heartbeat.last_beat`` by default.
    """

    def __init__(self, clock=time.monotonic, seconds=None, conf=cfg.CONF,
                 beats=None):
        self.clock = clock
        self._seconds = seconds
        self._conf = conf
        self._beats = beats
        self._since = {}
        self._beat = {}
        self._lock = threading.Lock()

    @property
    def seconds(self):
        """How long an engine must stay silent to be dead (seconds)."""
        if self._seconds is not None:
            return self._seconds
        return self._conf[config.GROUP].dead_engine_silence

    def heard(self, engine_id):
        """``engine_id`` answered: its silence, if any, is over."""
        with self._lock:
            self._since.pop(engine_id, None)
            self._beat.pop(engine_id, None)

    def bus_down(self):
        """This engine got no answer either: every silence starts over."""
        with self._lock:
            self._since.clear()
            self._beat.clear()

    def silent_for(self, engine_id):
        """Seconds since ``engine_id`` was first found silent (0 now).

        A silence that starts here reads the engine's heartbeat, which
        ``beat_moved`` compares with later.
        """
        now = self.clock()
        with self._lock:
            since = self._since.get(engine_id)
        if since is not None:
            return now - since
        beat = self._read_beat(engine_id)
        with self._lock:
            since = self._since.setdefault(engine_id, now)
            self._beat.setdefault(engine_id, beat)
        return now - since

    def beat_moved(self, engine_id):
        """True if ``engine_id``'s heartbeat moved since its silence began.

        If it did, the silence starts over from now and this beat.
        """
        beat = self._read_beat(engine_id)
        with self._lock:
            seen = self._beat.get(engine_id)
            if beat is None or beat == seen:
                return False
            self._since[engine_id] = self.clock()
            self._beat[engine_id] = beat
        return True

    def _read_beat(self, engine_id):
        read = self._beats or heartbeat.last_beat
        try:
            return read(engine_id)
        except Exception as exc:
            # Judged by the liveness check alone, as before heartbeats.
            LOG.warning('Could not read the heartbeat of engine %s: %s',
                        engine_id, exc)
            return None


# For callers that poll without a Silences of their own.
_SHARED = Silences()


def is_dead(cnxt, engine_id, me, is_alive=answers, silences=None):
    """True if ``engine_id`` stayed silent long enough while ``me`` answers.

    ``is_alive(cnxt, engine_id) -> bool`` is Heat's check by default. Costs
    one call for a live engine, two for a silent one (and a heartbeat read
    when its silence starts and when it reaches ``seconds``). A silent
    engine is dead once ``silences`` has seen it silent (and this engine
    answering) for its ``seconds`` with its heartbeat unmoved; callers ask
    again at their next scan or poll.
    """
    silences = silences or _SHARED
    if is_alive(cnxt, engine_id):
        silences.heard(engine_id)
        return False
    if not is_alive(cnxt, me):
        silences.bus_down()
        LOG.warning('Engine %s does not answer the liveness check, and '
                    'neither does this engine %s: the message bus is down, '
                    'not the engine; nothing of it is taken over',
                    engine_id, me)
        return False
    silent = silences.silent_for(engine_id)
    if silent >= silences.seconds:
        if not silences.beat_moved(engine_id):
            return True
        LOG.warning('Engine %s has not answered the liveness check on the '
                    'message bus for %d s, but its heartbeat in the '
                    'database moved: it is cut off from the broker, not '
                    'dead; nothing of it is taken over', engine_id, silent)
        return False
    if not silent:
        # Once per silence: slots are looked at every second.
        LOG.info('Engine %s does not answer the liveness check; it is '
                 'taken for dead if still silent in %d s', engine_id,
                 silences.seconds)
    return False
