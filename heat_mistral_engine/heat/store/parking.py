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

"""Which engine holds a node parked for a slot (runs in heat-engine).

A node that waits for a slot of its traversal's limit (see ``admission``)
lives in one engine worker's memory, with its resource row unlocked. If
that engine dies, the row says nothing, so the watchdog could not tell a
node parked in a dead engine from one parked in a live one. Each parked
node is therefore recorded in Heat's ``sync_point`` table, next to the
traversal's slots: entity ``wait-<resource id>``, the node's ``is_update``,
the traversal's id, and as ``input_data`` the engine and the Mistral action
execution (empty once the node left the parking). Heat deletes the rows
with the traversal's other sync points when it ends.

Every change is a compare-and-swap on the row's ``atomic_key`` (Heat's
``sync_point.update_input_data``): of an engine leaving the parking with
the node and a watchdog taking it over from that engine (believed dead),
exactly one wins, so the node runs once.
"""

from heat.common import exception
from heat.engine import sync_point
from oslo_db import exception as db_exception

PREFIX = 'wait-'
FREE = {}
# Compare-and-swap rounds before giving up: a row changes only when its
# node is parked, leaves or is taken over, so two rounds are the norm.
ATTEMPTS = 10


class Contended(Exception):
    """The row kept changing under a compare-and-swap."""


def entity(request):
    """The ``sync_point`` entity id of ``request``'s parking record."""
    return '%s%d' % (PREFIX, request.resource_id)


def record(engine_id, request):
    """The ``input_data`` naming ``engine_id`` as the node's holder."""
    return {'engine': engine_id,
            'action_execution': request.action_execution_id}


def get(cnxt, request):
    """The parking row of ``request``'s node, or None."""
    try:
        return sync_point.get(cnxt, entity(request), request.traversal,
                              request.is_update)
    except exception.EntityNotFound:
        return None


def holder(row):
    """The engine that has the node parked, or None (not parked)."""
    return (row.input_data or {}).get('engine') if row is not None else None


def park(cnxt, request, engine_id):
    """Record that ``engine_id`` has the node parked (it may already be)."""
    for _attempt in range(ATTEMPTS):
        row = get(cnxt, request)
        if row is None:
            try:
                sync_point.create(cnxt, entity(request), request.traversal,
                                  request.is_update, request.stack_id)
            except db_exception.DBDuplicateEntry:
                pass
            continue
        if sync_point.update_input_data(
                cnxt, row.entity_id, request.traversal, request.is_update,
                row.atomic_key, input_data=record(engine_id, request)):
            return
    raise Contended(entity(request))


def leave(cnxt, request, engine_id):
    """The node leaves ``engine_id``'s parking; False if it was taken over.

    True also when no row is found (the traversal ended and Heat deleted
    it: the caller's next step finds that out).
    """
    for _attempt in range(ATTEMPTS):
        row = get(cnxt, request)
        if row is None:
            return True
        if holder(row) != engine_id:
            return False
        if sync_point.update_input_data(
                cnxt, row.entity_id, request.traversal, request.is_update,
                row.atomic_key, input_data=dict(FREE)):
            return True
    raise Contended(entity(request))


def take_over(cnxt, row, request, engine_id):
    """Move the parked node of ``row`` (as read) to ``engine_id``.

    True for exactly one of the engines that read the same row.
    """
    return bool(sync_point.update_input_data(
        cnxt, row.entity_id, request.traversal, request.is_update,
        row.atomic_key, input_data=record(engine_id, request)))
