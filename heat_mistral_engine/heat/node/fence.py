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


"""Fencing: an engine taken for dead neither acts nor reports any more.

An engine whose heartbeat stopped (frozen, cut off from the database, its
host suspended) is taken for dead, and the watchdog of a live engine takes
its nodes over: it moves each node's claim to itself (``claims.
hand_over``, a compare-and-swap) and runs the node again. If the old
engine comes back, the run it still holds must not act and must not
report: its report would reach Mistral after, or instead of, the new
owner's, and Mistral's "already completed" answer would fail a stack that
is still running. So a node's run owns its claim, held as (engine id,
atomic key), and the runner checks it

* right before the resource action starts, and around a wait for the
  resource's lock (``check``), and
* when it records how the node ended: ``claims.finish`` is a
  compare-and-swap on the same key, which writes nothing once the claim
  moved; ``after_finish`` then reads who holds it.

A run whose claim moved is *fenced*: ``Fenced`` is raised, the runner drops
the run and logs one WARNING line (``log_fenced``); the new owner's report
is the node's only one. A claim that no longer exists means Heat deleted
the traversal's sync points: the traversal completed, failed or was
replaced, so no action starts for it either (``check`` fences): a frozen
engine that comes back after the stack completed without it found its
claim gone, started the action again and reported late (seen on the local
cloud). At the end (``after_finish``) a claim gone fences nothing: a run
that was not taken over reports as before.

Nor does a claim gone fence a failure of a run whose traversal a newer one
*replaced* (``check_failure``): native Heat's superseded worker still calls
``Stack.mark_failed``, which stores nothing (its compare-and-swap on the
traversal fails) but adds the stack's ``..._FAILED`` event with the
resource's reason, and the new traversal goes on. A second update that
pre-empts a nested stack's update shows it: the first traversal's node of
the nested stack's resource fails with ``Stack UPDATE cancelled`` after
the second traversal replaced its claims. Fencing it dropped that event
(a difference from native Heat, parity scenario
``update_preempts_nested_update``) and left the node's Mistral action
RUNNING, reported by no one. A run whose traversal completed or failed
(still the stack's current one) stays fenced: ``mark_failed`` would fail
a stack that ended without it.

Cost on a node's normal path: one read of the claim row by its primary key
(its ``input_data`` is under 300 bytes while RUNNING) before the action;
the end costs nothing more, the compare-and-swap was written anyway. The
read is retried (tenacity) while the database is unreachable, for up to
``READ_RETRY_SECONDS``, so that a transient failure of the check does not
fail the node.

An action already running when the engine froze cannot be recalled: it
goes on when the engine comes back, but Heat stores nothing it ends with
(the watchdog took the resource's lock, so Heat's own ``state_set`` raises
``UpdateInProgress``), and the runner, fenced, does not start it again.
"""

from oslo_db import exception as db_exception
from oslo_log import log as logging
import tenacity

from heat_mistral_engine.heat.store import claims
from heat_mistral_engine import protocol

LOG = logging.getLogger(__name__)

READ_RETRY_SECONDS = 30
READ_RETRY_WAIT = 1.0
# What a read retries on: the database is away, or the read lost a
# deadlock; anything else is a bug and raised at once.
TRANSIENT = (db_exception.DBConnectionError, db_exception.DBDeadlock)


NOT_STARTED = 'no resource action is started'
DROPPED = 'its result is dropped'


class Fenced(Exception):
    """This run's claim moved to ``owner``, another engine, or is gone.

    ``claim`` is the Claim as read (None: gone with its traversal);
    ``when`` what the run gave up (NOT_STARTED, DROPPED).
    """

    def __init__(self, claim, when):
        self.claim = claim
        self.owner = claim.engine if claim is not None else None
        self.when = when
        super().__init__('%s; %s' % (self.why, when))

    @property
    def why(self):
        if self.claim is None:
            return ('the node\'s claim is gone: its traversal completed, '
                    'failed or was replaced')
        return ('the node was taken over by engine %s (claim %s)'
                % (self.owner, self.claim.state))


def check(cnxt, request, engine_id, atomic_key, when=NOT_STARTED,
          sleep=None):
    """Raise Fenced unless ``request``'s claim is still this run's.

    This run's: held by ``engine_id`` with ``atomic_key`` (what ``claim``
    or ``take_over`` gave it). One read, retried on transient database
    errors; no claim (the traversal's sync points are gone) fences too.
    ``when``: what the caller gives up if fenced (NOT_STARTED, or DROPPED
    before a failure would fail the stack).
    """
    found = read(cnxt, request, sleep)
    if not _held(found, engine_id, atomic_key):
        raise Fenced(found, when)


def _held(found, engine_id, atomic_key):
    """Whether claim ``found`` (or None) is held by this run."""
    return (found is not None and found.engine == engine_id and
            found.atomic_key == atomic_key)


def check_failure(cnxt, request, engine_id, atomic_key, superseded,
                  sleep=None):
    """Raise Fenced unless this run may fail its stack for its node.

    As ``check`` with DROPPED, except that a claim gone while
    ``superseded()`` is true (a newer traversal replaced the run's, read
    from the stack's row) is not fenced: Heat's ``mark_failed`` then
    changes no state, as for native Heat's superseded worker (see the
    module's docstring). ``superseded`` is called only when the claim is
    gone.
    """
    found = read(cnxt, request, sleep)
    if found is None and superseded():
        return
    if not _held(found, engine_id, atomic_key):
        raise Fenced(found, DROPPED)


def after_finish(cnxt, request, engine_id, sleep=None):
    """After ``claims.finish`` wrote nothing: raise Fenced if not ours.

    The claim is another engine's: it was moved while this run went on.
    Still this engine's (a retried write that had committed) or gone: not
    fenced.
    """
    found = read(cnxt, request, sleep)
    if found is not None and found.engine != engine_id:
        raise Fenced(found, DROPPED)


def read(cnxt, request, sleep=None):
    """The node's Claim, or None; retried while the database is away."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TRANSIENT),
        stop=tenacity.stop_after_delay(READ_RETRY_SECONDS),
        wait=tenacity.wait_fixed(READ_RETRY_WAIT),
        sleep=sleep or tenacity.nap.sleep, reraise=True)
    return retrying(claims.get, cnxt, request)


def log_fenced(request, fenced, engine_id):
    """The one WARNING line of a fenced run (``fenced``: the Fenced).

    Names the node, its traversal and the new owner, so that the old
    engine's log says why the node has no report from it.
    """
    LOG.warning('Node resource %(rid)s (%(kind)s) of stack %(stack)s '
                'traversal %(trav)s: fenced in engine %(me)s, %(why)s: '
                '%(when)s; nothing is reported to Mistral action execution '
                '%(ax)s',
                {'rid': request.resource_id,
                 'kind': protocol.node_kind(request.is_update),
                 'stack': request.stack_id, 'trav': request.traversal,
                 'me': engine_id, 'why': fenced.why, 'when': fenced.when,
                 'ax': request.action_execution_id})
