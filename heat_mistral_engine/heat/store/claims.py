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

"""At most one run of each node per traversal, whatever Mistral sends.

Mistral may hand heat-engine the same node more than once: a task re-run
(``openstack task rerun``), a duplicate message, an execution started again
by hand. Heat must not act twice, nor answer the second time with other
data. Before a node runs, its engine *claims* it; the claim records how the
node ended, and a later request for the same node gets that answer instead
of a second run.

A claim is a row of Heat's ``sync_point`` table with the key Heat itself
gives a resource node's sync point, (resource id, traversal, is_update):
in a traversal Mistral orders, Heat creates no sync point for resource
nodes, so the key is free, and the row lives exactly as long as Heat's own
sync points of the traversal (Heat deletes them when the stack completes or
fails and when a new traversal starts). The primary key makes the claim
atomic across engines. ``input_data`` holds::

    {"hme_claim": {"state": "RUNNING" | "ADOPTED" | "SUCCESS" | "FAILED",
                   "engine": <engine id>, "action_execution": <id>,
                   "output": <action output> , "error": <reason>,
                   "run": <id of the claiming call>}}

The claim also says which engine owns the node's run, and is how an engine
that was taken for dead is fenced (issue 26): when the watchdog takes a
dead engine's node over, it moves the claim to its own engine
(``hand_over``, ADOPTED: handed over, not started yet), and that engine's
run of the request takes it (``take_over``, RUNNING again). Every move is
a compare-and-swap on the row's ``atomic_key``, so the old engine, should
it come back, finds its claim gone: it checks before it starts the
resource action (``node.fence``) and its ``finish`` no longer writes, so
it neither acts nor reports.

``run`` tells a claim's own write from another's: Heat retries its
``sync_point`` writes on a lost database connection, and when the
connection was lost during a commit the server applied, the retried
insert finds the row the first attempt wrote (a duplicate), the retried
compare-and-swap (``take_over``, ``hand_over``, ``finish``) finds its key
moved; every write records a ``run`` of its own, and a key moved by one
to a record with that very ``run`` is the write's own. Without ``run``
the claiming engine took its own claim for an earlier run and waited for
itself for ever (seen with ``tox -e chaos``, MariaDB restarted
mid-delete).
"""

import dataclasses

from heat.objects import sync_point as sync_point_object
from oslo_db import exception as db_exception
from oslo_utils import uuidutils

RUNNING = 'RUNNING'
# Handed to ``engine`` by its watchdog (``hand_over``); its run starts it.
ADOPTED = 'ADOPTED'
SUCCESS = 'SUCCESS'
FAILED = 'FAILED'
# What ``claim`` answers when the node's claim was there when it tried to
# insert its own, and gone when it read it: Heat deleted the traversal's
# claims in between (it completed or was replaced). Never stored.
GONE = 'GONE'
_KEY = 'hme_claim'
# A node whose claim is in one of these states runs, or is about to.
IN_FLIGHT = (RUNNING, ADOPTED)


@dataclasses.dataclass(frozen=True)
class Claim:
    """A node's claim as read: how its run in this traversal stands.

    ``state`` is RUNNING, ADOPTED, SUCCESS or FAILED; ``engine`` ran (or
    runs, or was handed) the node for Mistral action execution
    ``action_execution``; ``output`` or ``error`` is its answer once ended;
    ``atomic_key`` is the row's, for a compare-and-swap.
    """

    state: str
    engine: str
    action_execution: str
    output: object = None
    error: str = None
    atomic_key: int = 0
    run: str = None


FRESH_KEY = 0   # a new claim's atomic key


def claim(cnxt, request, engine_id):
    """Claim the request's node for ``engine_id``.

    Returns None if the claim is this engine's (run the node; its atomic
    key is FRESH_KEY), else the existing Claim (the node is running or ran
    already), or a Claim in state GONE when that claim was deleted before
    it could be read (the traversal ended meanwhile: the caller asks the
    stack how).
    """
    run = uuidutils.generate_uuid()
    values = {'entity_id': str(request.resource_id),
              'traversal_id': request.traversal,
              'is_update': request.is_update, 'atomic_key': FRESH_KEY,
              'stack_id': request.stack_id,
              'input_data': _record(RUNNING, engine_id,
                                    request.action_execution_id, run=run)}
    try:
        sync_point_object.SyncPoint.create(cnxt, values)
        return None
    except db_exception.DBDuplicateEntry:
        found = get(cnxt, request)
        if found is None:
            # Deleted since (the traversal ended): the caller's checks of
            # the traversal decide.
            return Claim(state=GONE, engine=None, action_execution=None,
                         error='the traversal ended while the node was '
                               'claimed again')
        if found.run == run and found.atomic_key == FRESH_KEY:
            # This call's own insert, committed before its connection was
            # lost and retried by Heat (see the module's docstring).
            return None
        return found


def get(cnxt, request):
    """The node's Claim, or None if there is none (any more)."""
    return get_node(cnxt, request.resource_id, request.traversal,
                    request.is_update)


def get_node(cnxt, resource_id, traversal, is_update):
    """The Claim of node (resource_id, is_update) in ``traversal``, or None.

    For readers that hold no request: the nested-stack link looks up which
    Mistral action execution runs a parent stack's node.
    """
    row = sync_point_object.SyncPoint.get_by_key(
        cnxt, str(resource_id), traversal, is_update)
    if row is None:
        return None
    record = (row.input_data or {}).get(_KEY) or {}
    return Claim(state=record.get('state', FAILED),
                 engine=record.get('engine'),
                 action_execution=record.get('action_execution'),
                 output=record.get('output'), error=record.get('error'),
                 atomic_key=row.atomic_key, run=record.get('run'))


def take_over(cnxt, request, found, engine_id):
    """Start this engine's run on claim ``found`` (compare-and-swap).

    ``found`` is a dead engine's RUNNING claim, or one ``hand_over`` gave
    this engine (ADOPTED). Returns the claim's new atomic key if this
    engine now runs the node, else None (another request or engine moved
    the claim first).
    """
    if _swap(cnxt, request, found.atomic_key, RUNNING, engine_id):
        return found.atomic_key + 1
    return None


def hand_over(cnxt, request, found, engine_id):
    """Move ``found``, a dead engine's claim in flight, to ``engine_id``.

    The watchdog's half of fencing: from this compare-and-swap on, the old
    engine's claim is gone, whatever it does when it comes back. The claim
    is ADOPTED by ``engine_id``, for its run of ``request`` to start
    (``take_over``). Returns True if this call moved it; False if the
    claim changed since ``found`` was read (another watchdog moved it, or
    the old engine finished).
    """
    return _swap(cnxt, request, found.atomic_key, ADOPTED, engine_id)


def finish(cnxt, request, engine_id, atomic_key=None, output=None,
           error=None):
    """Record how the node ended (``error`` None: SUCCESS with output).

    ``atomic_key`` is that of this engine's claim; None to read it.
    Returns False if nothing was written: the claim is gone, or it moved
    since ``atomic_key`` (handed to another engine: ``node.fence``).
    """
    if atomic_key is None:
        found = get(cnxt, request)
        if found is None:
            return False
        atomic_key = found.atomic_key
    state = SUCCESS if error is None else FAILED
    return _swap(cnxt, request, atomic_key, state, engine_id, output, error)


def _swap(cnxt, request, atomic_key, state, engine_id, output=None,
          error=None):
    """Write the claim's new record if its key is still ``atomic_key``.

    Returns whether this call wrote it: also when Heat's retry of a write
    whose commit landed as the connection was lost found the key moved by
    that very write (told apart by the record's ``run``, see the module's
    docstring).
    """
    run = uuidutils.generate_uuid()
    if sync_point_object.SyncPoint.update_input_data(
            cnxt, str(request.resource_id), request.traversal,
            request.is_update, atomic_key,
            _record(state, engine_id, request.action_execution_id, output,
                    error, run=run)):
        return True
    now = get(cnxt, request)
    return (now is not None and now.run == run and
            now.atomic_key == atomic_key + 1)


def _record(state, engine_id, action_execution, output=None, error=None,
            run=None):
    return {_KEY: {'state': state, 'engine': engine_id,
                   'action_execution': action_execution,
                   'output': output, 'error': error, 'run': run}}
