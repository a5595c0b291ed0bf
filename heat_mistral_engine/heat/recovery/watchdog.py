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

"""Take over the resource nodes of dead heat-engines (runs in heat-engine).

Mistral's ``heat.run_node`` action is asynchronous: it casts the node to a
heat-engine and the task stays RUNNING until that engine completes the
action execution through Mistral's API. When the engine dies (kill -9, a
crash, a lost host), nobody ever completes it: the stack would wait for the
task timeout (the stack timeout), with the resource row locked by the dead
engine. Native Heat has the same gap and closes it only when another node
happens to touch the resource.

Every engine worker runs a ``Watchdog``. Each ``watchdog_interval`` seconds
it lists the RUNNING ``heat.run_node`` action executions (one Mistral API
call) and, for the nodes of stacks still IN_PROGRESS in that traversal,
reads the resource row:

* locked by an engine that answers Heat's liveness check: the node runs;
* locked by this worker: the node runs here;
* locked by a dead engine (silent for ``dead_engine_silence`` while this
  one answers, its heartbeat unmoved: see ``liveness``; with the broker
  down or reconnecting no engine is taken for dead): the node's claim, if
  that engine holds it, is moved to this engine first (``claims.
  hand_over``, a compare-and-swap: one live engine only adopts it, and
  the dead engine, should it come back, is fenced: see ``node.fence``);
  then the lock is taken over with a compare-and-swap on the row
  (``engine_id`` and ``atomic_key``) and the resource is marked FAILED
  "Worker went down during resource ACTION", exactly as Heat's own
  ``_stale_resource_needs_retry`` does. If the old engine moved the row
  in between (it came back and finished the action), the lock is left
  to it but the node is still re-run here: its report is fenced, and the
  re-run finds the resource done;
* unlocked, and the row unchanged (same ``atomic_key``, which every lock
  and unlock moves) for ``lost_node_timeout`` seconds of this watchdog's
  scans while the action stayed RUNNING: the message was lost with its
  engine (oslo.messaging acknowledges a message before the engine runs
  it), with Mistral or with the broker, or the engine died before it could
  report. The claim is the same compare-and-swap, which moves
  ``atomic_key``, so no other watchdog claims it again for
  ``lost_node_timeout``;
* replaced, and the replacement unlocked: the node is done or reporting;
  running it again would replace the resource once more, so it is left.
* under a concurrency cap (see ``admission``), unlocked and parked: the
  node waits for a slot in the engine its parking record names (see
  ``parking``); if that engine is dead, the record is taken over with a
  compare-and-swap (one winner) and the node parked or run here. An
  unlocked node without a parking record is judged as above (lost after
  ``lost_node_timeout``).

The adopting engine then runs the node with the original request (token
and predecessor data are in the action execution's input) through the same
``NodeRunner``, which completes the original Mistral action execution. A
CREATE_FAILED resource is replaced by that run, as Heat's next check would.

Bound: a node of an engine killed at time T, running or parked, is running
(or parked) again in a live engine by T + ``watchdog_interval`` +
``dead_engine_silence`` + ``engine_life_check_timeout`` (Heat's, 2 s by
default); a lost,
never-started node by T + ``lost_node_timeout`` + ``watchdog_interval``.
"""

import collections
import dataclasses
import random
import threading
import time

from heat.common import exception
from heat.engine import check_resource
from heat.objects import resource as resource_objects
from heat.objects import stack as stack_objects
from oslo_config import cfg
from oslo_log import log as logging

from heat_mistral_engine import config
from heat_mistral_engine.heat.clients import liveness
from heat_mistral_engine.heat.store import claims
from heat_mistral_engine.heat.store import parking
from heat_mistral_engine.heat.traversal import traversal_token
from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)

WORKER_WENT_DOWN = 'Worker went down during resource %s'
# Replacement chains followed at most (a cycle must not hang a scan).
MAX_REPLACEMENTS = 20
# A stack with at least this many running nodes in a scan has its resource
# rows read in one query, not one per node: with hundreds of nodes running,
# a read per node cost a second of heat-engine CPU per scan, in every engine
# worker (doc/source/benchmarks.rst, "Figures behind the code").
BULK_READ_MIN = 10


@dataclasses.dataclass
class Adoption:
    """One node this watchdog took over: ``why`` is 'dead-engine' or 'lost'.

    ``dead_engine`` is the engine whose lock was taken over, if any.
    """

    request: protocol.NodeRequest
    why: str
    dead_engine: str = None


class Watchdog:
    """Finds nodes whose heat-engine died and re-runs them here.

    :param runner: this worker's ``NodeRunner`` (its ``engine_id`` is the
        lock owner of the re-runs, its ``mistral`` the API client).
    :param is_alive: ``f(context, engine_id) -> bool``; Heat's listener
        check by default.
    :param clock: ``f() -> seconds`` (monotonic), for tests.
    :param spawn: ``f(callable)`` running a re-run concurrently; a thread
        by default.
    :param submit: ``f(request)`` that runs a node as the RPC server would
        (through the concurrency cap's admission); ``runner.run`` by
        default.
    """

    def __init__(self, runner, conf=cfg.CONF, is_alive=None, clock=None,
                 spawn=None, submit=None):
        self.runner = runner
        self._submit = submit or runner.run
        self.conf = conf
        self._is_alive = is_alive or liveness.answers
        self._clock = clock or _monotonic
        self._silences = liveness.Silences(clock=self._clock, conf=conf)
        # action execution id -> (atomic_key seen, since when), for the
        # unlocked nodes of the running actions.
        self._seen = {}
        self._spawn = spawn or _thread

    @property
    def group(self):
        return self.conf[config.GROUP]

    # -- the scan --------------------------------------------------------
    def scan(self):
        """Look once; start re-runs of the nodes taken over.

        Returns the list of ``Adoption``. Never raises for one bad node;
        raises ``MistralUnavailable`` if Mistral cannot list the actions.
        """
        actions = self.runner.mistral.running_node_actions()
        running = {a.id for a in actions}
        for gone in set(self._seen) - running:
            del self._seen[gone]
        alive = {}
        stacks = {}
        rows = _ScanRows(actions)
        adopted = []
        for action in actions:
            try:
                found = self._check(action, alive, stacks, rows)
            except Exception:
                LOG.exception('Watchdog: could not check Mistral action '
                              'execution %s', action.id)
                continue
            if found is not None:
                adopted.append(found)
                LOG.warning(
                    'Watchdog: re-running node resource %(rid)s (%(kind)s) '
                    'of stack %(stack)s traversal %(trav)s in engine '
                    '%(me)s for Mistral action execution %(ax)s: %(why)s',
                    {'rid': found.request.resource_id,
                     'kind': protocol.node_kind(found.request.is_update),
                     'stack': found.request.stack_id,
                     'trav': found.request.traversal,
                     'me': self.runner.engine_id,
                     'ax': found.request.action_execution_id,
                     'why': ('its engine %s is dead' % found.dead_engine
                             if found.why == 'dead-engine' else
                             'no engine started it within %d s'
                             % self.group.lost_node_timeout)})
                self._spawn(lambda req=found.request: self._submit(req))
        return adopted

    def _check(self, action, alive, stacks, rows):
        request = _request(action)
        if request is None:
            return None
        grant, stack = self._stack_of(request, stacks)
        cnxt = grant.context
        if (stack is None or stack.status != 'IN_PROGRESS' or
                stack.current_traversal != request.traversal):
            # Not ours to run: the orphan check deals with these.
            return None
        try:
            row, replaced = _effective_row(
                cnxt, request.resource_id, rows.of_stack(cnxt, request))
        except exception.NotFound:
            return None   # deleted meanwhile: its node ends at once
        holder = row.engine_id
        if holder == self.runner.engine_id:
            return None
        if holder is not None:
            if not self._dead(cnxt, holder, alive):
                return None
            return self._take_over(cnxt, request, row, holder)
        if replaced:
            # The node went on with a replacement that no engine holds:
            # done or about to report. Running the node again would
            # replace the resource once more.
            return None
        if grant.max_concurrent:
            # Under a concurrency cap, a node may wait for a slot in an
            # engine's memory for any time, its row unlocked and untouched;
            # its parking record names the engine.
            parked = parking.get(cnxt, request)
            waiting_in = parking.holder(parked)
            if waiting_in is not None:
                return self._take_over_parked(cnxt, request, parked,
                                              waiting_in, alive)
        # Lost: this watchdog has seen the row unlocked and unchanged (its
        # atomic_key moves at every lock and unlock) while the action ran,
        # for lost_node_timeout. (The row's updated_at is not kept by Heat.)
        seen_key, since = self._seen.setdefault(
            action.id, (row.atomic_key, self._clock()))
        if seen_key != row.atomic_key:
            self._seen[action.id] = (row.atomic_key, self._clock())
            return None
        if self._clock() - since < self.group.lost_node_timeout:
            return None
        if not _claim(cnxt, row.id, None, row.atomic_key):
            return None
        return Adoption(request, 'lost')

    @staticmethod
    def _stack_of(request, stacks):
        """(token grant, stack row) of a request, once per traversal per scan.

        All nodes of a traversal carry the same token, so a scan opens it
        and reads the stack row once per traversal rather than once per
        running node: with hundreds of nodes running, reading the row with
        its template (``eager_load``) for each node made a scan cost
        seconds of CPU, growing with the stack's size. The row alone is
        enough here: status and current traversal.

        :raises: what ``traversal_token.open_token`` raises for a token
            that is not this request's (nothing is cached then).
        """
        # The token is checked against the stack and traversal it is
        # sent with, so these are part of the key.
        key = (request.token, request.stack_id, request.traversal)
        found = stacks.get(key)
        if found is None:
            grant = traversal_token.open_token(
                request.token, request.stack_id, request.traversal)
            found = stacks[key] = (
                grant, stack_objects.Stack.get_by_id(
                    grant.context, request.stack_id, eager_load=False))
        return found

    def _dead(self, cnxt, engine, alive):
        """Is ``engine`` dead? Asked once per engine per scan (``alive``)."""
        if engine not in alive:
            alive[engine] = not liveness.is_dead(
                cnxt, engine, self.runner.engine_id, self._is_alive,
                self._silences)
        return not alive[engine]

    def _hand_over_claim(self, cnxt, request, dead_engine):
        """Move the node's claim from ``dead_engine`` here.

        True if moved; None if ``dead_engine`` holds no claim of the node
        in flight (it locked the row for an earlier traversal, or died
        before it claimed): nothing to fence, the re-run claims as usual;
        False if the claim moved since it was read (another watchdog won,
        or the old engine came back and finished): leave the node.
        """
        found = claims.get(cnxt, request)
        if (found is None or found.state not in claims.IN_FLIGHT or
                found.engine != dead_engine):
            return None
        return claims.hand_over(cnxt, request, found, self.runner.engine_id)

    def _take_over_parked(self, cnxt, request, parked, engine, alive):
        """Move a node parked in a dead engine here (one winner)."""
        if engine == self.runner.engine_id or not self._dead(cnxt, engine,
                                                             alive):
            return None
        if not parking.take_over(cnxt, parked, request,
                                 self.runner.engine_id):
            return None
        return Adoption(request, 'dead-engine', engine)

    def _take_over(self, cnxt, request, row, dead_engine):
        """Move a dead engine's node here (one winner) and fail the resource.

        The claim moves first: from then on the dead engine, should it
        come back, neither starts the action again nor reports (it is
        fenced), so this engine's re-run is the node's only report.
        """
        moved = self._hand_over_claim(cnxt, request, dead_engine)
        if moved is False:
            return None
        if not _claim(cnxt, row.id, dead_engine, row.atomic_key):
            if not moved:
                return None
            # The old engine came back and moved the row after its claim
            # moved here: it is fenced and will not report, so the re-run
            # here must; it finds the resource as the old engine left it.
            LOG.warning('Watchdog: engine %s moved resource %s after its '
                        'node was handed to engine %s; the node is re-run '
                        'here without failing the resource', dead_engine,
                        row.id, self.runner.engine_id)
            return Adoption(request, 'dead-engine', dead_engine)
        rsrc, _defn, _stack = check_resource.load_resource(
            cnxt, row.id, {}, request.traversal, request.is_update)
        if rsrc is not None:
            rsrc.state_set(rsrc.action, rsrc.FAILED,
                           WORKER_WENT_DOWN % rsrc.action)
        return Adoption(request, 'dead-engine', dead_engine)


def _request(action):
    """The NodeRequest an action execution carried, or None."""
    values = dict(action.input or {})
    values.pop('resource_name', None)
    try:
        return protocol.NodeRequest.from_dict(protocol.node_request(
            action_execution_id=action.id, **values))
    except (protocol.BadNodeRequest, TypeError) as exc:
        LOG.warning('Watchdog: Mistral action execution %s has no usable '
                    'node request: %s', action.id, exc)
        return None


class _ScanRows:
    """The resource rows of one scan, read per stack when many nodes run.

    ``of_stack`` returns {resource id: row} of the request's stack, read
    with one query (Heat's ``Resource.get_all_active_by_stack``) the first
    time it is asked in the scan, for a stack with at least
    ``BULK_READ_MIN`` running nodes; None for other stacks, whose rows are
    read one by one. The caller has opened the request's token, so the
    rows are read in that stack's own context.
    """

    def __init__(self, actions):
        self._running = collections.Counter(
            a.input.get('stack_id') for a in actions
            if isinstance(a.input, dict))
        self._by_stack = {}

    def of_stack(self, cnxt, request):
        stack_id = request.stack_id
        if self._running[stack_id] < BULK_READ_MIN:
            return None
        if stack_id not in self._by_stack:
            self._by_stack[stack_id] = (
                resource_objects.Resource.get_all_active_by_stack(
                    cnxt, stack_id))
        return self._by_stack[stack_id]


def _effective_row(cnxt, resource_id, known=None):
    """The row a node works on: its resource, or that one's replacement.

    Returns (row, replaced). A node whose resource was replaced (UpdateReplace,
    or a take-over of a dead engine's create) goes on with the replacement,
    so the replacement's lock tells whether it still runs. ``known`` is
    {resource id: row} read earlier in the scan; a row not in it (DELETE
    COMPLETE rows are not) is read from the database.
    """
    fields = {'engine_id', 'atomic_key', 'updated_at', 'created_at',
              'replaced_by'}

    def read(rid):
        if known is not None and rid in known:
            return known[rid]
        # No refresh: each get_obj is a reader transaction of its own, with
        # a new session, so the row is read from the database anyway;
        # refresh would read it (and its joined data) a second time.
        return resource_objects.Resource.get_obj(cnxt, rid, fields=fields)

    row = read(resource_id)
    replaced = False
    for _hop in range(MAX_REPLACEMENTS):
        if row.replaced_by is None:
            break
        try:
            row = read(row.replaced_by)
        except exception.NotFound:
            break
        replaced = True
    return row, replaced


def _claim(cnxt, resource_id, expected_engine, atomic_key):
    """Compare-and-swap the row's lock from ``expected_engine`` to none.

    Bumps ``atomic_key`` (and ``updated_at``): of the watchdogs that read
    the same row, exactly one wins.
    """
    return resource_objects.Resource.select_and_update_by_id(
        cnxt, resource_id, {'engine_id': None},
        expected_engine_id=expected_engine, atomic_key=atomic_key)


def _monotonic():
    return time.monotonic()


def _thread(func):
    thread = threading.Thread(target=func, daemon=True)
    thread.start()
    return thread


class Periodic:
    """Runs ``(interval_seconds, func)`` tasks in one daemon thread.

    Each task first runs after a random part of its interval, so that
    engines started together do not all scan at once; a task that raises
    is logged and runs again at its next time.
    """

    def __init__(self, tasks, clock=None, wait=None):
        self.tasks = [(interval, func) for interval, func in tasks
                      if interval]
        self._stop = threading.Event()
        self._clock = clock or _monotonic
        self._wait = wait or self._stop.wait

    def start(self):
        """Run the tasks in a new daemon thread; None if there are none."""
        if not self.tasks:
            return None
        return _thread(self.run)

    def stop(self):
        """Stop the thread after the task it may be running."""
        self._stop.set()

    def run(self):
        """Run the tasks at their times until ``stop`` (the thread's body)."""
        now = self._clock()
        due = [now + random.uniform(0, interval)
               for interval, _func in self.tasks]
        while not self._stop.is_set():
            now = self._clock()
            for index, (interval, func) in enumerate(self.tasks):
                if now >= due[index]:
                    try:
                        func()
                    except Exception as exc:
                        LOG.warning('%s failed: %s',
                                    getattr(func, '__qualname__', func), exc)
                    due[index] = self._clock() + interval
            self._wait(max(0.0, min(due) - self._clock()))
