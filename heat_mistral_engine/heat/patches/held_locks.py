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


"""The resource locks this heat-engine worker process holds, exactly.

Heat locks a resource row for an engine worker with a compare-and-swap of
its ``engine_id`` (``Resource._store_with_lock``), which Heat's
``retry_on_db_error`` runs again when the connection to the database is
lost. A lock whose commit landed as the connection was lost is found, by
that retry, held by this very engine id although nothing runs under it
(issue 26). The node runner tells that lost commit from a lock this worker
really holds by asking ``holds``: the locks taken here through
``_store_with_lock`` by any code of this process, Heat's own native
traversals (snapshot restore, check, suspend, resume, a delete of a stack
with snapshots), Heat's ``Resource.lock()`` (mark-unhealthy, before
``prepare_for_replace``) and the plugin's nodes alike: all of them take
and release resource locks there, and only there.

``install`` wraps ``Resource._store_with_lock``:

* a lock being acquired counts as held from before Heat's write until
  the write is refused, so a runner that reads the row between Heat's
  commit and the record sees it held (the safe side: it waits);
* a successful acquire is recorded with the atomic key it leaves, a
  lost one (``UpdateInProgress``) is not;
* a successful release forgets the lock; a refused one (its own commit
  lost, or the row changed) forgets it only when the lock recorded is the
  one this release was for (same atomic key): a later acquire's record,
  after the row was reset under it, stays.

A lock that ends elsewhere (Heat's stack reset, a watchdog's take-over, a
runner's release of a lost commit, a body raising ``UpdateInProgress``
inside Heat's ``lock()``) may stay recorded: such a stale record only
makes a later lost commit of the same row look held, and the runner then
waits for it, as it did before this module. A lock really held is never
missing, as long as it was taken through ``_store_with_lock``.

Heat's ``Resource`` is touched here only; ``install`` checks the wrapped
method's signature and otherwise leaves Heat alone with a warning.
"""

import collections
import functools
import threading

from heat.common import exception as heat_exception
from heat.engine import resource as heat_resource
from oslo_log import log as logging

from heat_mistral_engine.heat.patches import heat_release

LOG = logging.getLogger(__name__)

# (method name, expected parameters) of Resource.
WRAPPED = (('_store_with_lock', ('self', 'rs', 'lock')),)


class HeldLocks:
    """The (engine id, row id) locks one process holds. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        # Locks being acquired (Heat's write in flight): key -> count.
        self._acquiring = collections.Counter()
        # Locks held: key -> the atomic key the acquire left on the row.
        self._held = {}

    def holds(self, engine_id, row_id):
        """Whether ``engine_id``'s lock on row ``row_id`` is held here.

        True too while such a lock is being acquired.
        """
        key = (engine_id, row_id)
        with self._lock:
            return key in self._held or self._acquiring[key] > 0

    def acquire(self, key, take):
        """Run ``take()``, Heat's acquire of lock ``key``; record it.

        ``take`` returns the atomic key the lock leaves on the row, or
        raises (the lock is not taken: nothing is recorded).
        """
        with self._lock:
            self._acquiring[key] += 1
        recorded = False
        try:
            atomic_key = take()
            with self._lock:
                self._held[key] = atomic_key
                recorded = True
                self._end_acquiring(key)
        finally:
            if not recorded:
                with self._lock:
                    self._end_acquiring(key)

    def _end_acquiring(self, key):
        self._acquiring[key] -= 1
        if self._acquiring[key] <= 0:
            del self._acquiring[key]

    def released(self, key):
        """Lock ``key`` was released: the row is unlocked."""
        with self._lock:
            self._held.pop(key, None)

    def release_refused(self, key, atomic_key):
        """A release of lock ``key`` at ``atomic_key`` was refused.

        Its commit was lost (the row is unlocked) or the row changed under
        the lock: either way the release's holder no longer holds it. A
        lock recorded with another atomic key is another acquire's, and
        stays.
        """
        with self._lock:
            if self._held.get(key) == atomic_key:
                del self._held[key]


_HELD = HeldLocks()


def tracking(cls=heat_resource.Resource):
    """Whether ``cls._store_with_lock`` is this module's wrapper."""
    return getattr(getattr(cls, '_store_with_lock', None),
                   '_hme_held_locks', False)


def holds(engine_id, row_id):
    """Whether this process holds ``engine_id``'s lock on row ``row_id``.

    Known are the locks taken through Heat's ``Resource._store_with_lock``
    since ``install``; one being acquired counts as held. While locks are
    not tracked (``install`` not run, or it found another Heat) every lock
    may be held here: True.
    """
    if not tracking():
        return True
    return _HELD.holds(engine_id, row_id)


def _tracking(method):
    @functools.wraps(method)
    def store_with_lock(self, rs, lock):
        key = (self._calling_engine_id, self.id)
        if lock == self.LOCK_ACQUIRE:
            def take():
                method(self, rs, lock)
                return self._atomic_key
            return _HELD.acquire(key, take)
        if lock == self.LOCK_RELEASE:
            atomic_key = self._atomic_key
            try:
                result = method(self, rs, lock)
            except heat_exception.UpdateInProgress:
                _HELD.release_refused(key, atomic_key)
                raise
            _HELD.released(key)
            return result
        return method(self, rs, lock)

    store_with_lock._hme_held_locks = True
    return store_with_lock


def incompatibilities(cls=heat_resource.Resource):
    """What in Heat's Resource differs from what this module wraps."""
    problems = heat_release.method_problems('Resource', cls, WRAPPED)
    for name in ('LOCK_ACQUIRE', 'LOCK_RELEASE'):
        if not hasattr(cls, name):
            problems.append('Resource.%s is missing' % name)
    return problems


def install(cls=heat_resource.Resource):
    """Wrap Resource._store_with_lock to track held locks. Idempotent.

    Returns False (and leaves Heat alone, with a warning) when Heat's
    Resource is not the one this module was written for: ``holds`` then
    answers True for every lock.
    """
    problems = incompatibilities(cls)
    if problems:
        LOG.warning('heat-mistral-engine: the resource locks this worker '
                    'holds are not tracked, so a lock taken for this '
                    'engine by a write whose connection to the database '
                    'was lost cannot be told apart from one held: %s',
                    '; '.join(problems))
        return False
    heat_release.wrap_methods(cls, [name for name, _ in WRAPPED], _tracking)
    return True
