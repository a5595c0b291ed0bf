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

"""Admit nodes under their traversal's limit of resource actions at once.

The node RPC server hands every node to ``Admission.submit``. A traversal
without a limit (the default; the limit travels in the sealed token) runs
the node at once, with no extra database work. Otherwise the node takes one
of the traversal's slots (see ``slots``) and gives it back when it ends,
whatever way it ends; if none is free it is parked here and the RPC
server's thread is returned at once, so that waiting nodes never hold
threads other stacks' nodes need (nor a Mistral thread: the Mistral action
is asynchronous).

One thread per engine worker serves the parked nodes, traversal by
traversal: every ``POLL_SECONDS``, or at once when a node of this engine
gives a slot back, it

* ends the traversal's parked nodes if the traversal was superseded or
  ended (the same error a node of a stale traversal gets), or if the stack
  timed out (the stack fails with Heat's ``Timed out``: waiting counts
  toward the stack's timeout);
* else takes the free slots for the oldest parked nodes and runs each in a
  thread of its own.

Parked nodes live in this engine's memory, and each is recorded in the
database (see ``parking``): if the engine dies, the watchdog of a live
engine finds the record naming the dead engine and takes the node over,
as it does for the nodes a dead engine was running. A node that leaves the
parking here first takes its record back (compare-and-swap); if a watchdog
took it over meanwhile (this engine was believed dead), it does not run
here.
"""

import collections
import dataclasses
import threading
import time

from heat.common import exception
from heat.engine import stack as heat_stack
from oslo_log import log as logging

from heat_mistral_engine.heat.node import runner
from heat_mistral_engine.heat.store import parking
from heat_mistral_engine.heat.store import slots as slots_mod
from heat_mistral_engine.heat.traversal import traversal_token

LOG = logging.getLogger(__name__)

POLL_SECONDS = 1.0


@dataclasses.dataclass
class _Parked:
    request: object
    grant: object
    finished: object
    since: float


class Admission:
    """Runs or parks the nodes of one engine worker; thread-safe."""

    def __init__(self, runner, slots=None, poll_seconds=POLL_SECONDS,
                 background=True, spawn=None):
        """Admit nodes for ``runner`` (a NodeRunner).

        ``background``: serve parked nodes in a thread of this object, else
        only when ``serve_parked`` is called. ``spawn(func, *args)`` runs a
        node that got its slot (default: in a new thread).
        """
        self.runner = runner
        self.slots = slots or slots_mod.Slots(runner.engine_id)
        self._poll = poll_seconds
        self._background = background
        self._spawn = spawn or _spawn_thread
        self._cond = threading.Condition()
        self._parked = collections.OrderedDict()  # (stack, trav) -> deque
        self._woken = False
        self._closed = False
        self._thread = None

    def submit(self, request, finished):
        """Run ``request`` (a NodeRequest) now or once a slot is free.

        ``finished(outcome)`` is called exactly once, when the node ends,
        in this thread or another. Never raises.
        """
        try:
            grant = traversal_token.open_token(
                request.token, request.stack_id, request.traversal)
        except traversal_token.InvalidToken:
            finished(self.runner.run(request))    # which refuses it
            return
        if not grant.max_concurrent:
            finished(self.runner.run(request, grant))
            return
        try:
            index = self.slots.acquire(
                grant.context, request.stack_id, request.traversal,
                grant.max_concurrent, request)
        except slots_mod.SlotsGone as exc:
            finished(self.runner.end_unrun(request, str(exc), grant))
            return
        except Exception as exc:
            finished(self.runner.fail_unexpectedly(request, exc))
            return
        if index is None:
            self._park(_Parked(request, grant, finished, time.monotonic()))
            return
        try:
            outcome = self._run_holding(request, grant, index)
        except Exception as exc:     # run() never raises; belt and braces
            outcome = self.runner.fail_unexpectedly(request, exc)
        finished(outcome)

    def parked(self):
        """How many nodes wait in this engine (for tests and logs)."""
        with self._cond:
            return sum(len(q) for q in self._parked.values())

    def serve_parked(self):
        """Serve every traversal with parked nodes once (the thread's step)."""
        with self._cond:
            keys = list(self._parked)
        for key in keys:
            try:
                self._serve(key)
            except Exception:
                LOG.exception('Could not serve the nodes of stack %s '
                              'traversal %s that wait for a slot; trying '
                              'again', *key)

    # -- running with a slot -------------------------------------------

    def _run_holding(self, request, grant, index):
        try:
            return self.runner.run(request, grant)
        finally:
            self._release(grant.context, request, index)

    def _release(self, cnxt, request, index):
        try:
            self.slots.release(cnxt, request.traversal, index, request)
        except Exception:
            # This engine no longer counts the slot as its node's, so its
            # own waiting nodes will take it over.
            LOG.exception('Node %s of stack %s: could not give back slot '
                          '%d', request.resource_id, request.stack_id,
                          index)
        self._wake()

    def _run_parked(self, parked, index):
        try:
            outcome = self._run_holding(parked.request, parked.grant, index)
        except Exception as exc:
            outcome = self.runner.fail_unexpectedly(parked.request, exc)
        parked.finished(outcome)

    # -- parking ---------------------------------------------------------

    def _park(self, parked):
        request = parked.request
        LOG.info('Node resource %s of stack %s traversal %s waits: all %d '
                 'slots of the traversal are busy', request.resource_id,
                 request.stack_id, request.traversal,
                 parked.grant.max_concurrent)
        try:
            parking.park(parked.grant.context, request,
                         self.runner.engine_id)
        except Exception:
            # Parked all the same; only a watchdog could not find it here
            # if this engine died.
            LOG.exception('Node %s of stack %s: could not record it as '
                          'waiting', request.resource_id, request.stack_id)
        with self._cond:
            key = (request.stack_id, request.traversal)
            self._parked.setdefault(key, collections.deque()).append(parked)
            if self._background and self._thread is None and \
                    not self._closed:
                self._thread = threading.Thread(
                    target=self._loop, name='hme-slot-waiter', daemon=True)
                self._thread.start()
            self._woken = True
            self._cond.notify()

    def _wake(self):
        with self._cond:
            if self._parked:
                self._woken = True
                self._cond.notify()

    def close(self):
        """Stop the waiting thread (parked nodes stay parked)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    def _loop(self):
        while True:
            with self._cond:
                if not self._woken and not self._closed:
                    # Nothing parked: sleep until a node is.
                    self._cond.wait(self._poll if self._parked else None)
                if self._closed:
                    return
                self._woken = False
            self.serve_parked()

    def _serve(self, key):
        with self._cond:
            queue = self._parked.get(key)
            if not queue:
                self._parked.pop(key, None)
                return
            first = queue[0]
        reason = self._why_stop(first.grant.context, first.request)
        if reason:
            self._end_all(key, reason)
            return
        while True:
            with self._cond:
                if not queue:
                    break
                parked = queue[0]
            try:
                # The node's own context: the node's thread will use it,
                # never at the same time as this one.
                index = self.slots.acquire(
                    parked.grant.context, parked.request.stack_id,
                    parked.request.traversal, parked.grant.max_concurrent,
                    parked.request)
            except slots_mod.SlotsGone as exc:
                self._end_all(key, str(exc))
                return
            if index is None:
                return
            with self._cond:
                queue.popleft()
            if not self._leave_parking(parked, index):
                continue
            LOG.info('Node resource %s of stack %s traversal %s: slot %d '
                     'free after %.1f s', parked.request.resource_id,
                     parked.request.stack_id, parked.request.traversal,
                     index, time.monotonic() - parked.since)
            self._spawn(self._run_parked, parked, index)

    def _leave_parking(self, parked, index):
        """Take the node's parking record back; False if taken over.

        A node taken over gives its slot back and ends here without a
        word to Mistral: the engine that took it over answers for it.
        """
        request = parked.request
        try:
            mine = parking.leave(parked.grant.context, request,
                                 self.runner.engine_id)
        except Exception:
            # Could not look: run it. At worst it runs twice, which the
            # node claims (store.claims) make safe.
            LOG.exception('Node %s of stack %s: could not update its '
                          'parking record', request.resource_id,
                          request.stack_id)
            return True
        if mine:
            return True
        LOG.warning('Node resource %s of stack %s traversal %s waited here '
                    'but another engine took it over (this one was '
                    'believed dead); not running it here',
                    request.resource_id, request.stack_id, request.traversal)
        self._release(parked.grant.context, request, index)
        parked.finished(runner.Outcome(
            error='taken over by another engine while waiting for a slot'))
        return False

    def _why_stop(self, cnxt, request):
        """Why the parked nodes of a traversal must end now, or None.

        Fails the stack (``Timed out``) when it timed out, as a node does.
        """
        try:
            stack = heat_stack.Stack.load(cnxt, stack_id=request.stack_id,
                                          force_reload=True)
        except (exception.NotFound, exception.EntityNotFound):
            return 'stack %s is gone' % request.stack_id
        reason = runner.superseded(stack, request)
        if reason:
            return reason
        if stack.has_timed_out():
            return self.runner.fail_traversal(stack, 'Timed out').error
        return None

    def _end_all(self, key, reason):
        with self._cond:
            queue = self._parked.pop(key, None) or ()
        for parked in queue:
            LOG.info('Node resource %s of stack %s not run: %s',
                     parked.request.resource_id, parked.request.stack_id,
                     reason)
            parked.finished(self.runner.end_unrun(parked.request, reason,
                                                  parked.grant))


def _spawn_thread(func, *args):
    threading.Thread(target=func, args=args, name='hme-node',
                     daemon=True).start()
