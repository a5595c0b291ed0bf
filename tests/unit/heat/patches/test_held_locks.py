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


"""The resource locks this worker process holds, as Heat takes them.

The wrapper is checked on a stand-in of Heat's Resource (its lock write
succeeds or raises UpdateInProgress as told) and installed on Heat's own;
test_lost_lock_db runs it with Heat's real locks on its sqlite database.
"""

import threading

import fixtures
from heat.common import exception as heat_exception
from heat.engine import resource as heat_resource

from heat_mistral_engine.heat.patches import heat_release
from heat_mistral_engine.heat.patches import held_locks
from tests.unit import base


def stand_in():
    """A class with Heat's Resource lock constants and ``_store_with_lock``.

    Each instance writes as its ``refuse`` says (UpdateInProgress when
    True) and first calls its ``during`` (None: nothing), as Heat's write
    runs; a successful write bumps ``_atomic_key``, as Heat does.
    """
    class Resource:
        LOCK_NONE, LOCK_ACQUIRE, LOCK_RELEASE, LOCK_RESPECT = range(4)

        def __init__(self, row_id, engine_id='e1'):
            self.id = row_id
            self._calling_engine_id = engine_id
            self._atomic_key = 0
            self.refuse = False
            self.during = None

        def _store_with_lock(self, rs, lock):
            if self.during is not None:
                self.during()
            if self.refuse:
                raise heat_exception.UpdateInProgress('r')
            self._atomic_key += 1

    return Resource


class HeldLocksTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.held = held_locks.HeldLocks()
        self.useFixture(fixtures.MockPatchObject(held_locks, '_HELD',
                                                 self.held))
        self.cls = stand_in()
        self.assertTrue(held_locks.install(self.cls))

    def acquire(self, rsrc):
        rsrc._store_with_lock({}, rsrc.LOCK_ACQUIRE)

    def release(self, rsrc):
        rsrc._store_with_lock({}, rsrc.LOCK_RELEASE)

    def test_an_acquired_lock_is_held_until_released(self):
        rsrc = self.cls(5)
        self.assertFalse(self.held.holds('e1', 5))
        self.acquire(rsrc)
        self.assertTrue(self.held.holds('e1', 5))
        self.assertFalse(self.held.holds('e2', 5))
        self.assertFalse(self.held.holds('e1', 6))
        self.release(rsrc)
        self.assertFalse(self.held.holds('e1', 5))

    def test_a_refused_acquire_is_not_held(self):
        # Heat's retry after a lost commit: the lock is not this process's.
        rsrc = self.cls(5)
        rsrc.refuse = True
        self.assertRaises(heat_exception.UpdateInProgress,
                          self.acquire, rsrc)
        self.assertFalse(self.held.holds('e1', 5))

    def test_a_lock_being_acquired_is_held(self):
        # From before Heat's write until it returns: a runner reading the
        # row in between must not take the lock for a lost commit.
        seen = []
        rsrc = self.cls(5)
        rsrc.during = lambda: seen.append(self.held.holds('e1', 5))
        self.acquire(rsrc)
        other = self.cls(6)
        other.refuse = True
        other.during = lambda: seen.append(self.held.holds('e1', 6))
        self.assertRaises(heat_exception.UpdateInProgress,
                          self.acquire, other)
        self.assertEqual([True, True], seen)
        self.assertFalse(self.held.holds('e1', 6))

    def test_a_refused_release_forgets_the_lock(self):
        # Its commit lost (the row is free), or the row changed under it:
        # either way its holder no longer holds it.
        rsrc = self.cls(5)
        self.acquire(rsrc)
        rsrc.refuse = True
        self.assertRaises(heat_exception.UpdateInProgress,
                          self.release, rsrc)
        self.assertFalse(self.held.holds('e1', 5))

    def test_a_refused_stale_release_keeps_a_later_acquire(self):
        # The row was reset under the first holder and locked again by
        # another thread of this process: the stale release is refused,
        # and the new holder's lock stays held.
        first, second = self.cls(5), self.cls(5)
        self.acquire(first)
        second._atomic_key = first._atomic_key
        self.acquire(second)
        first.refuse = True
        self.assertRaises(heat_exception.UpdateInProgress,
                          self.release, first)
        self.assertTrue(self.held.holds('e1', 5))
        self.release(second)
        self.assertFalse(self.held.holds('e1', 5))

    def test_other_lock_writes_are_passed_through(self):
        rsrc = self.cls(5)
        rsrc._store_with_lock({}, rsrc.LOCK_RESPECT)
        self.assertEqual(1, rsrc._atomic_key)
        self.assertFalse(self.held.holds('e1', 5))

    def test_threads_leave_nothing_held(self):
        def work(row_id):
            for _ in range(200):
                rsrc = self.cls(row_id)
                self.acquire(rsrc)
                self.assertTrue(self.held.holds('e1', row_id))
                self.release(rsrc)
        threads = [threading.Thread(target=work, args=(row_id,))
                   for row_id in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual({}, self.held._held)
        self.assertEqual({}, dict(self.held._acquiring))


class InstallTest(base.TestCase):

    def test_install_wraps_once(self):
        cls = stand_in()
        method = cls._store_with_lock
        self.assertTrue(held_locks.install(cls))
        wrapped = cls._store_with_lock
        self.assertTrue(held_locks.install(cls))   # idempotent
        self.assertIs(wrapped, cls._store_with_lock)
        self.assertIs(method, heat_release.original(cls._store_with_lock))
        self.assertTrue(held_locks.tracking(cls))

    def test_heat_resource_is_wrapped(self):
        self.addCleanup(setattr, heat_resource.Resource, '_store_with_lock',
                        heat_resource.Resource._store_with_lock)
        self.assertTrue(held_locks.install())
        self.assertTrue(held_locks.tracking())

    def test_another_signature_leaves_heat_alone(self):
        cls = stand_in()

        def store_with_lock(self, rs, lock, extra):
            pass
        cls._store_with_lock = store_with_lock
        with self.assertLogs(held_locks.LOG.logger.name, 'WARNING'):
            self.assertFalse(held_locks.install(cls))
        self.assertIs(store_with_lock, cls._store_with_lock)
        self.assertFalse(held_locks.tracking(cls))

    def test_missing_lock_constants_leave_heat_alone(self):
        cls = stand_in()
        del cls.LOCK_RELEASE
        method = cls._store_with_lock
        self.assertFalse(held_locks.install(cls))
        self.assertIs(method, cls._store_with_lock)

    def test_untracked_locks_are_all_taken_as_held(self):
        # Without the wrapper no lock is known: a runner must wait for
        # every lock of its engine, as before.
        self.useFixture(fixtures.MockPatchObject(
            held_locks, 'tracking', return_value=False))
        self.assertTrue(held_locks.holds('e1', 5))
