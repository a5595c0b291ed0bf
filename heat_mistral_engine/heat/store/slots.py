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

"""Slots in the database: at most N resource actions of a traversal at once.

A traversal with a limit of N gets N rows in Heat's own ``sync_point`` table
(``entity_id`` ``slot-0`` .. ``slot-<N-1>``, the traversal's id, the stack's
id), created when the traversal starts. Nodes of one stack run in any
heat-engine, so the count must live in the database, not in one engine's
memory. A node takes a free slot, and gives it back, by compare-and-swap
with Heat's ``sync_point_update_input_data`` (it updates a row only while
its ``atomic_key`` is the one read): two engines can never take the same
slot (Heat's ``heat.engine.sync_point`` functions do the reads and
writes).

A slot's ``input_data`` is empty (null or ``{}``) when free, else the
holder: the engine, the resource and the Mistral action execution of the
node. Heat deletes a traversal's sync points when the traversal ends, fails
or is replaced (``Stack.purge_db``, ``converge_stack``, ``stop_traversal``),
so the slots go with it; giving back a slot that is gone does nothing.

A slot whose holder can no longer give it back is taken over:

* held by a dead engine (Heat's ``EngineListenerClient.is_alive``, as
  Heat and the node runner do for resource locks);
* held in this engine by a node this engine no longer runs (this engine
  records which slots its nodes hold before it takes them).
"""

import threading
import time

from heat.common import exception
from heat.engine import sync_point
from oslo_log import log as logging

from heat_mistral_engine.heat.clients import liveness

LOG = logging.getLogger(__name__)

PREFIX = 'slot-'
FREE = {}
# Seconds an engine found alive is believed alive without asking again:
# waiting nodes look at busy slots every second, and each question to a
# live engine is an RPC round trip.
ALIVE_TTL = 30.0


class SlotsGone(Exception):
    """The traversal's slots are gone: Heat ended or replaced it."""


def slot_entity(index):
    """The ``sync_point`` entity id of slot ``index`` of a traversal."""
    return '%s%d' % (PREFIX, index)


def create(cnxt, stack_id, traversal, count):
    """Create ``count`` free slots for the traversal."""
    for index in range(count):
        sync_point.create(cnxt, slot_entity(index), traversal, True,
                          stack_id)


def holder(engine_id, request):
    """The holder record of a node (a ``protocol.NodeRequest``)."""
    return {'engine': engine_id, 'resource': request.resource_id,
            'is_update': request.is_update,
            'action_execution': request.action_execution_id}


class Slots:
    """Takes and gives back slots for the nodes of one engine.

    Thread-safe; one per engine worker.
    """

    def __init__(self, engine_id, is_alive=None, clock=time.monotonic):
        self.engine_id = engine_id
        self._is_alive = is_alive or liveness.answers
        self._silences = liveness.Silences(clock=clock)
        self._clock = clock
        self._alive_until = {}
        self._mine = set()      # (traversal, index, action execution)
        self._lock = threading.Lock()

    def acquire(self, cnxt, stack_id, traversal, count, request):
        """Take a slot for ``request``'s node; its index, or None if all busy.

        Looks at each slot at most once: free slots first, then busy ones
        whose holder is gone (taken over).

        :raises SlotsGone: the traversal's slots were deleted (it ended).
        """
        me = holder(self.engine_id, request)
        busy = []
        for index in range(count):
            row = _read(cnxt, traversal, index)
            if row is None:
                raise SlotsGone('traversal %s of stack %s has ended'
                                % (traversal, stack_id))
            if not row.input_data:
                if self._take(cnxt, row, traversal, index, me):
                    return index
            else:
                busy.append((index, row))
        for index, row in busy:
            gone = self._gone(cnxt, row.input_data, traversal, index)
            if gone and self._take(cnxt, row, traversal, index, me):
                LOG.warning('Stack %s traversal %s: took over slot %d from '
                            '%s (%s)', stack_id, traversal, index,
                            row.input_data, gone)
                return index
        return None

    def release(self, cnxt, traversal, index, request):
        """Give back slot ``index`` held by ``request``'s node.

        Returns True if this call freed it. Does nothing if the slot is gone
        (the traversal ended) or held by someone else (taken over).
        """
        key = (traversal, index, request.action_execution_id)
        try:
            while True:
                row = _read(cnxt, traversal, index)
                if row is None or not _held_by(row.input_data, request):
                    return False
                if sync_point.update_input_data(
                        cnxt, row.entity_id, traversal, True,
                        row.atomic_key, input_data=dict(FREE)):
                    return True
                # Someone else changed the row (taking it over): look again.
        finally:
            with self._lock:
                self._mine.discard(key)

    def _take(self, cnxt, row, traversal, index, me):
        # Recorded first: another thread of this engine that finds the slot
        # held by this engine must see it is a live node's.
        key = (traversal, index, me['action_execution'])
        with self._lock:
            self._mine.add(key)
        taken = sync_point.update_input_data(
            cnxt, row.entity_id, traversal, True, row.atomic_key,
            input_data=me)
        if not taken:
            with self._lock:
                self._mine.discard(key)
        return bool(taken)

    def _gone(self, cnxt, held, traversal, index):
        """Why the holder can no longer give the slot back, or None."""
        engine = held.get('engine')
        if engine == self.engine_id:
            key = (traversal, index, held.get('action_execution'))
            with self._lock:
                if key in self._mine:
                    return None
            return 'its node no longer runs in this engine'
        now = self._clock()
        with self._lock:
            if self._alive_until.get(engine, 0) > now:
                return None
        if not liveness.is_dead(cnxt, engine, self.engine_id,
                                self._is_alive, self._silences):
            with self._lock:
                self._alive_until[engine] = now + ALIVE_TTL
            return None
        return 'engine %s is dead' % engine


def _read(cnxt, traversal, index):
    try:
        return sync_point.get(cnxt, slot_entity(index), traversal, True)
    except exception.EntityNotFound:
        return None


def _held_by(held, request):
    return bool(held) and (held.get('action_execution') ==
                           request.action_execution_id)
