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

"""Which operator hooks a traversal requires, stored with the traversal.

When a traversal with operator hooks starts, heat-engine stores what it
requires of them (``graph.hook_tasks.required_hooks``: per node, each hook's
``when``, name, workflow, task name and actions) in one row of Heat's own
``sync_point`` table: ``entity_id`` ``hme-hooks``, the traversal's id,
``is_update`` true, the stack's id, ``input_data``
``{"hme_hooks": {<data key>: [requirement, ...]}}``. Heat deletes a
traversal's sync points when it ends, fails or is replaced, so the row
goes with its traversal, as the traversal mark and the slots do.

The row is heat-engine's own record: Mistral, which orders the hooks, can
neither write nor read it. ``heat.node.hook_proofs`` reads it to decide
which hooks must have run before a node acts or a stack completes. A
traversal without hooks has no row, and its nodes never read one: the
sealed traversal token says whether there is one (``Grant.hooks``).
"""

import threading

import cachetools
from heat.objects import sync_point as sync_point_object
from oslo_db import exception as db_exception

ENTITY = 'hme-hooks'
_KEY = 'hme_hooks'
# Traversals whose requirements are remembered per engine process: the row
# never changes while it exists.
CACHED = 256


class Missing(LookupError):
    """The traversal's requirements are gone (the traversal ended)."""


def record(cnxt, stack_id, traversal, required):
    """Store ``required`` ({data key: [requirement]}) for ``traversal``.

    Called once, before the traversal's execution starts; a second call
    (a retried start) keeps the first row.
    """
    try:
        sync_point_object.SyncPoint.create(cnxt, {
            'entity_id': ENTITY, 'traversal_id': traversal,
            'is_update': True, 'atomic_key': 0, 'stack_id': stack_id,
            'input_data': {_KEY: required}})
    except db_exception.DBDuplicateEntry:
        pass


class Requirements:
    """Reads the rows, remembering them per traversal; thread-safe."""

    def __init__(self, size=CACHED):
        self._cache = cachetools.LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def of(self, cnxt, traversal):
        """{data key: [requirement]} of ``traversal``.

        :raises Missing: no row (the traversal ended, or started without
            hooks).
        """
        with self._lock:
            found = self._cache.get(traversal)
        if found is not None:
            return found
        row = sync_point_object.SyncPoint.get_by_key(cnxt, ENTITY,
                                                     traversal, True)
        if row is None or _KEY not in (row.input_data or {}):
            raise Missing(traversal)
        found = row.input_data[_KEY]
        with self._lock:
            self._cache[traversal] = found
        return found


REQUIREMENTS = Requirements()
