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

"""Issue 26: a lock whose commit was lost, on Heat's own (sqlite) database.

The node runner's ``_act`` runs Heat's real convergence create, update,
replacement and delete of an ``OS::Heat::TestResource`` of a real
convergence stack (Heat's own preamble stored its rows and traversal; only
its casts of the leaves, its notifications, sleeps, the claim check and
Mistral are stand-ins). A commit the server applied as
the connection was lost is simulated where Heat writes: the write is
applied, then run a second time, as Heat's ``retry_on_db_error`` runs it
again after a connection lost at COMMIT, and the caller gets that second
result. The locks this process holds are tracked (``held_locks``, as
heat-engine installs it), and a lock one of Heat's native actions holds in
this process is taken with Heat's own code.
"""

import queue
import types
from unittest import mock

import fixtures
from heat.engine import resource as heat_resource
from heat.engine.resources.openstack.heat import test_resource
from heat.engine import template as heat_template
from heat.objects import resource as resource_objects

from heat_mistral_engine.heat.node import runner as node_runner
from heat_mistral_engine.heat.patches import held_locks
from tests.unit import base

ENGINE = 'engine-1'
TEMPLATE = {'heat_template_version': '2021-04-16', 'resources': {
    'slow': {'type': 'OS::Heat::TestResource',
             'properties': {'value': 'v'}}}}


def template_with(**properties):
    """TEMPLATE with ``slow``'s properties ``properties``."""
    return {'heat_template_version': TEMPLATE['heat_template_version'],
            'resources': {'slow': {'type': 'OS::Heat::TestResource',
                                   'properties': properties}}}


class WouldWait(Exception):
    """The runner slept for a lock: it waits for it as long as it is held."""


class LostCommitDbCase(base.HeatDbTestCase):
    """A stack of one TestResource ``slow``, and the runner's ``_act``."""

    stack_name = 'lost-lock'
    template = TEMPLATE

    def setUp(self):
        super().setUp()
        self.stack.thread_group_mgr = node_runner.INLINE_EVENTS
        # Heat's own preamble casts the leaves to its workers: not here.
        self.stack._worker_client = mock.Mock()
        # Heat's notifications need its RPC transport.
        self.useFixture(fixtures.MockPatch(
            'heat.engine.notification.stack.send'))
        self.runner = node_runner.NodeRunner(ENGINE, mock.Mock(),
                                             mistral=mock.Mock())
        # The locks this process holds are tracked, as in heat-engine
        # (startup.wiring installs held_locks), from a clean slate.
        self.useFixture(fixtures.MockPatchObject(
            held_locks, '_HELD', held_locks.HeldLocks()))
        self.addCleanup(setattr, heat_resource.Resource, '_store_with_lock',
                        heat_resource.Resource._store_with_lock)
        self.assertTrue(held_locks.install())
        self.useFixture(fixtures.MockPatchObject(node_runner.fence,
                                                 'check'))
        # Heat's own retries of a refused lock (and TestResource's
        # simulated effort) sleep in time.sleep: no real wait.
        self.heat_sleep = self.useFixture(fixtures.MockPatch(
            'time.sleep')).mock
        # The runner's own waits for a lock: a few polls at most, then
        # the test ends as WouldWait (the lock stays held: it would wait
        # until the stack timed out).
        self.runner_time = self.useFixture(fixtures.MockPatchObject(
            node_runner, 'time')).mock
        self.runner_time.sleep.side_effect = self.poll
        self.handled = []
        for action in ('create', 'update', 'delete'):
            self.count('handle_%s' % action)

    def poll(self, seconds):
        if self.runner_time.sleep.call_count >= 3:
            raise WouldWait('waited %d times for the lock'
                            % self.runner_time.sleep.call_count)

    def count(self, name):
        """Record each call of TestResource's ``name`` in ``handled``."""
        real = getattr(test_resource.TestResource, name)

        def counted(rsrc, *args):
            self.handled.append((name, rsrc.id))
            return real(rsrc, *args)
        self.useFixture(fixtures.MockPatchObject(
            test_resource.TestResource, name, counted))

    def converge(self, template, action):
        """Start a traversal of the stack, as Heat's service does."""
        self.stack.converge_stack(heat_template.Template(template),
                                  action=action)
        self.assertIsNotNone(self.stack.current_traversal)

    def row(self, name='slow'):
        """The stack's newest resource row named ``name``."""
        rows = [r for r in resource_objects.Resource.get_all_active_by_stack(
            self.ctx, self.stack.id).values() if r.name == name]
        return max(rows, key=lambda r: r.id)

    def rows(self):
        """The stack's rows but DELETE COMPLETE: id -> (name, state, lock)."""
        found = resource_objects.Resource.get_all_active_by_stack(
            self.ctx, self.stack.id)
        return {r.id: (r.name, r.action, r.status, r.engine_id)
                for r in found.values()}

    def act(self, row_id, is_update):
        """Run the node of row ``row_id`` with the runner's ``_act``."""
        request = types.SimpleNamespace(
            traversal=self.stack.current_traversal, stack_id=self.stack.id,
            resource_id=row_id, is_update=is_update)
        rsrc, stack = self.runner._load(self.ctx, request, row_id, {})
        rsrc, _stack = self.runner._act(
            self.ctx, request, types.SimpleNamespace(converge=False), rsrc,
            stack, {}, queue.Queue(), 'claim-key')
        # The run holds no lock when it ends.
        self.assertFalse(held_locks.holds(ENGINE, rsrc.id))
        return rsrc

    def lose_first_lock(self, row_id):
        """The first lock taken on row ``row_id``: its commit lost.

        ``Resource.select_and_update_by_id`` with this engine's lock
        (expected engine None) is applied, then run again, as Heat's
        ``retry_on_db_error`` (on ``resource_update``) does after the
        connection was lost at COMMIT; Heat gets the second result
        (False: the row is now locked, by this engine). Returns the list
        of the values of the lost write (one at most).
        """
        real = resource_objects.Resource.select_and_update_by_id
        lost = []

        def committed_then_lost(context, resource_id, values,
                                expected_engine_id=None, atomic_key=0):
            first = real(context, resource_id, values, expected_engine_id,
                         atomic_key)
            if (lost or resource_id != row_id or
                    values.get('engine_id') != ENGINE or
                    expected_engine_id is not None):
                return first
            lost.append(dict(values))
            return real(context, resource_id, values, expected_engine_id,
                        atomic_key)
        self.useFixture(fixtures.MockPatchObject(
            resource_objects.Resource, 'select_and_update_by_id',
            side_effect=committed_then_lost))
        return lost

    def create(self):
        """Create the stack's resource, nothing lost; returns its row."""
        self.converge(TEMPLATE, self.stack.CREATE)
        row = self.row()
        self.act(row.id, is_update=True)
        self.handled.clear()
        return self.row()

    def assert_lost(self, lost, action):
        """One lock was lost: the one Heat took for ``action``."""
        self.assertEqual([(action, 'IN_PROGRESS', ENGINE)],
                         [(v['action'], v['status'], v['engine_id'])
                          for v in lost])

    def assert_done(self, row_id, action, handled):
        """Row ``row_id`` ended ``action`` COMPLETE, unlocked, at once.

        ``handled``: the one TestResource handler that ran, on that row.
        """
        row = resource_objects.Resource.get_obj(self.ctx, row_id)
        self.assertEqual((action, 'COMPLETE', None),
                         (row.action, row.status, row.engine_id))
        self.assertEqual([(handled, row_id)], self.handled)
        self.runner_time.sleep.assert_not_called()
        return row

    def assert_replaced_once(self, old_id, rsrc, old_state):
        """``rsrc`` replaced row ``old_id``, created once, at once.

        The old row is left in ``old_state`` ((action, status)), unlocked
        and replaced by ``rsrc``; the stack has no other row (but DELETE
        COMPLETE ones).
        """
        self.assertNotEqual(old_id, rsrc.id)
        self.assert_done(rsrc.id, 'CREATE', 'handle_create')
        old = resource_objects.Resource.get_obj(self.ctx, old_id)
        self.assertEqual(old_state + (None, rsrc.id),
                         (old.action, old.status, old.engine_id,
                          old.replaced_by))
        self.assertEqual([old_id, rsrc.id], sorted(self.rows()))


class LostLockDbTest(LostCommitDbCase):
    """A lost lock of Heat's create, update or delete: it runs once."""

    def test_a_create_with_a_lost_lock_creates_once(self):
        self.converge(TEMPLATE, self.stack.CREATE)
        row_id = self.row().id
        lost = self.lose_first_lock(row_id)
        rsrc = self.act(row_id, is_update=True)
        self.assert_lost(lost, 'CREATE')
        # Heat's create runs only from INIT COMPLETE: it ran, once.
        self.assert_done(row_id, 'CREATE', 'handle_create')
        self.assertEqual('v', rsrc.data().get('value'))

    def test_a_delete_with_a_lost_lock_deletes_once(self):
        row_id = self.create().id
        self.converge({'heat_template_version': '2021-04-16'},
                      self.stack.DELETE)
        lost = self.lose_first_lock(row_id)
        self.act(row_id, is_update=False)
        self.assert_lost(lost, 'DELETE')
        self.assert_done(row_id, 'DELETE', 'handle_delete')

    def test_an_update_with_a_lost_lock_updates_once(self):
        created = self.create()
        self.converge(template_with(value='w'), self.stack.UPDATE)
        self.assertNotEqual(created.current_template_id,
                            self.stack.t.id)
        lost = self.lose_first_lock(created.id)
        rsrc = self.act(created.id, is_update=True)
        self.assert_lost(lost, 'UPDATE')
        row = self.assert_done(created.id, 'UPDATE', 'handle_update')
        # The new template and properties, in place.
        self.assertEqual(self.stack.t.id, row.current_template_id)
        self.assertEqual('w', row.properties_data['value'])
        self.assertEqual('w', rsrc.data().get('value'))
        self.assertEqual([created.id], list(self.rows()))

    def test_a_replacing_update_with_a_lost_lock_replaces_once(self):
        # TestResource asks for its replacement inside Heat's update, after
        # Heat took the lock: run again, the update asks again.
        created = self.create()
        self.converge(template_with(value='w', update_replace=True),
                      self.stack.UPDATE)
        lost = self.lose_first_lock(created.id)
        rsrc = self.act(created.id, is_update=True)
        self.assert_lost(lost, 'UPDATE')
        self.assert_replaced_once(created.id, rsrc, ('UPDATE', 'COMPLETE'))
        self.assertEqual('w', rsrc.data().get('value'))


class LostReplacementCommitDbTest(LostCommitDbCase):
    """Issue 26, item 3: lost commits on the way to a replacement.

    The lost lock of Heat's ``lock()`` before ``prepare_for_replace`` is
    released (the locks this worker holds are known). A lost commit of the
    replacement row leaves no unused row (``store.replacements``).
    """

    def replace_losing_the_replacement_row(self, attempts=None):
        """Replace ``slow``, the new row's first commit lost.

        Heat's ``make_replacement`` inserts the new row and points the old
        one at it (compare-and-swap on its atomic key) in one commit. Its
        first commit lands as the connection is lost, and Heat's
        ``retry_on_db_error`` runs it again: that insert commits before the
        compare-and-swap fails (Heat's own order) and Heat gets
        ``UpdateInProgress``; ``make_replacement`` then tries again, up to
        ``attempts`` times in all (Heat's default without). Returns (the
        old row, the node's resource, the ids of the rows inserted, in
        order); the node replaced ``slow`` and created it once.
        """
        if attempts is not None:
            self.conf.config(client_retry_limit=attempts - 1)
        created = self.create()
        self.converge(template_with(value='w', update_replace=True),
                      self.stack.UPDATE)
        real = resource_objects.Resource.replacement
        calls = []

        def committed_then_lost(*args, **kwargs):
            calls.append(args)
            if len(calls) == 1:
                real(*args, **kwargs)
            return real(*args, **kwargs)
        self.useFixture(fixtures.MockPatchObject(
            resource_objects.Resource, 'replacement',
            side_effect=committed_then_lost))
        rsrc = self.act(created.id, is_update=True)
        self.assertEqual(attempts or 2, len(calls))
        self.assert_done(rsrc.id, 'CREATE', 'handle_create')
        old = resource_objects.Resource.get_obj(self.ctx, created.id)
        self.assertEqual(rsrc.id, old.replaced_by)
        inserted = resource_objects.Resource.get_all_by_root_stack(
            self.ctx, self.stack.id, {'replaces': created.id})
        return created, rsrc, sorted(inserted)

    def assert_unused(self, row_ids):
        """Rows ``row_ids`` are DELETE COMPLETE, unlocked, never created."""
        for row_id in row_ids:
            row = resource_objects.Resource.get_obj(self.ctx, row_id)
            self.assertEqual(('DELETE', 'COMPLETE', None, None),
                             (row.action, row.status, row.engine_id,
                              row.physical_resource_id))

    def test_a_lost_replacement_row_leaves_no_unused_row(self):
        # The first commit's row (named by the old row until Heat's third
        # attempt) and the retry's row (its compare-and-swap refused) are
        # unused: marked DELETE COMPLETE, so that Heat's purge at the
        # stack's completion removes them.
        created, rsrc, inserted = self.replace_losing_the_replacement_row()
        self.assertEqual(3, len(inserted))
        self.assertEqual(inserted[2], rsrc.id)
        self.assert_unused(inserted[:2])
        self.assertEqual([created.id, rsrc.id], sorted(self.rows()))

    def test_a_refused_replacement_whose_commit_landed_is_used(self):
        # Heat tries once: its retry's compare-and-swap is refused (the
        # lost commit moved the atomic key) and make_replacement raises
        # UpdateInProgress, while the old row names the first commit's
        # row. That row is the replacement, created once; the retry's row
        # is unused.
        created, rsrc, inserted = self.replace_losing_the_replacement_row(
            attempts=1)
        self.assertEqual(2, len(inserted))
        self.assertEqual(inserted[0], rsrc.id)
        self.assert_unused(inserted[1:])
        self.assertEqual([created.id, rsrc.id], sorted(self.rows()))

    def test_another_templates_row_is_left_alone(self):
        # A row replacing the same one with another template is another
        # traversal's (or Heat's own earlier one): never marked, even when
        # it appears while this node replaces.
        created = self.create()
        self.converge(template_with(value='w', update_replace=True),
                      self.stack.UPDATE)
        real = resource_objects.Resource.replacement
        foreign = []

        def with_a_foreign_row(context, existing_id, values, *args):
            foreign.append(resource_objects.Resource.create(
                context, dict(values, current_template_id=(
                    created.current_template_id))).id)
            return real(context, existing_id, values, *args)
        self.useFixture(fixtures.MockPatchObject(
            resource_objects.Resource, 'replacement',
            side_effect=with_a_foreign_row))
        rsrc = self.act(created.id, is_update=True)
        self.assert_done(rsrc.id, 'CREATE', 'handle_create')
        self.assertEqual([created.id, foreign[0], rsrc.id],
                         sorted(self.rows()))
        self.assertEqual(('slow', 'INIT', 'COMPLETE', None),
                         self.rows()[foreign[0]])

    def test_the_next_update_updates_the_replacement_in_place(self):
        # MariaDB's DATETIME keeps whole seconds: rows created in the same
        # second tie in Heat's choice of the resource's row for the next
        # traversal (_get_best_existing_rsrc_db), which then keeps the
        # rows' order. Unused rows left INIT COMPLETE would win it, and
        # the next update would create the resource anew; marked DELETE
        # COMPLETE, they are not candidates.
        _old, rsrc, inserted = self.replace_losing_the_replacement_row()
        for row_id in inserted:
            row = resource_objects.Resource.get_obj(self.ctx, row_id)
            row.update_and_save(
                {'created_at': row.created_at.replace(microsecond=0)})
        self.handled.clear()
        self.converge(template_with(value='x'), self.stack.UPDATE)
        chosen = self.stack._get_best_existing_rsrc_db('slow')
        self.assertEqual(rsrc.id, chosen.id)
        self.act(chosen.id, is_update=True)
        self.assert_done(rsrc.id, 'UPDATE', 'handle_update')

    def test_a_lost_lock_before_prepare_for_replace_is_released(self):
        # A FAILED resource is replaced: Heat's update takes the lock with
        # Resource.lock() (no state written) to run prepare_for_replace.
        # That lock's lost commit leaves the row in its state; no thread
        # of this worker holds it, so it is released (the state kept) and
        # the update runs again: prepare_for_replace once, and one
        # replacement, created once.
        prepared = []
        self.useFixture(fixtures.MockPatchObject(
            test_resource.TestResource, 'prepare_for_replace',
            lambda rsrc: prepared.append(rsrc.id)))
        created = self.create()
        resource_objects.Resource.get_obj(
            self.ctx, created.id).update_and_save({'status': 'FAILED'})
        self.converge(template_with(value='w'), self.stack.UPDATE)
        lost = self.lose_first_lock(created.id)
        rsrc = self.act(created.id, is_update=True)
        self.assertEqual([{'engine_id': ENGINE, 'atomic_key': 3}], lost)
        self.assertEqual([created.id], prepared)
        self.assert_replaced_once(created.id, rsrc, ('CREATE', 'FAILED'))


class NativeHolderDbTest(LostCommitDbCase):
    """A lock one of Heat's native actions holds in this worker: waited for.

    Heat runs some traversals itself, in the same worker process and
    under the same engine id as the plugin's nodes (a snapshot restore, a
    check, a delete of a stack with snapshots; mark-unhealthy's and
    prepare_for_replace's ``Resource.lock()``). A node that finds such a
    lock, with the state of the action it tried itself, must wait for it:
    released, two actions would run on one resource at once.
    """

    def native_lock(self, row_id, action=None):
        """Take row ``row_id``'s lock as a native action of this worker.

        With Heat's own code, from another Resource object of the row:
        ``state_set`` to ``action`` IN_PROGRESS with the lock, or, with
        no ``action``, ``Resource.lock()`` (entered, never left). Returns
        that Resource (the lock() is left at the test's end).
        """
        request = types.SimpleNamespace(
            traversal=self.stack.current_traversal, stack_id=self.stack.id,
            resource_id=row_id, is_update=True)
        native, stack = self.runner._load(self.ctx, request, row_id, {})
        # Referenced by the test: the Resource keeps a weak one to its
        # stack, and lock()'s generator, collected, would release.
        self.natives = getattr(self, 'natives', []) + [native, stack]
        if action is None:
            held = native.lock(ENGINE)
            held.__enter__()
            # Left before Heat's database goes.
            self.addCleanup(held.__exit__, None, None, None)
        else:
            native._calling_engine_id = ENGINE
            native.state_set(action, native.IN_PROGRESS,
                             lock=native.LOCK_ACQUIRE)
        self.assertTrue(held_locks.holds(ENGINE, row_id))
        return native

    def assert_waits(self, row_id, is_update, state):
        """The node of row ``row_id`` waits; the row stays ``state``."""
        self.assertRaises(WouldWait, self.act, row_id, is_update=is_update)
        self.assertEqual([], self.handled)
        row = resource_objects.Resource.get_obj(self.ctx, row_id)
        self.assertEqual(state + (ENGINE,),
                         (row.action, row.status, row.engine_id))

    def test_a_native_update_holding_the_lock_is_waited_for(self):
        # A restore's update, superseded by the user's update.
        created = self.create()
        self.converge(template_with(value='w'), self.stack.UPDATE)
        self.native_lock(created.id, 'UPDATE')
        self.assert_waits(created.id, True, ('UPDATE', 'IN_PROGRESS'))

    def test_a_native_delete_holding_the_lock_is_waited_for(self):
        row_id = self.create().id
        self.converge({'heat_template_version': '2021-04-16'},
                      self.stack.DELETE)
        self.native_lock(row_id, 'DELETE')
        self.assert_waits(row_id, False, ('DELETE', 'IN_PROGRESS'))

    def test_a_native_create_holding_the_lock_is_waited_for(self):
        self.converge(TEMPLATE, self.stack.CREATE)
        row_id = self.row().id
        self.native_lock(row_id, 'CREATE')
        self.assert_waits(row_id, True, ('CREATE', 'IN_PROGRESS'))

    def test_a_native_lock_call_holding_the_lock_is_waited_for(self):
        # Mark-unhealthy's (or another prepare_for_replace's) lock(), held
        # while the node's update of the FAILED resource asks for it.
        created = self.create()
        resource_objects.Resource.get_obj(
            self.ctx, created.id).update_and_save({'status': 'FAILED'})
        self.converge(template_with(value='w'), self.stack.UPDATE)
        self.native_lock(created.id)
        self.assert_waits(created.id, True, ('CREATE', 'FAILED'))

    def test_once_the_native_action_released_it_the_node_acts(self):
        created = self.create()
        self.converge(template_with(value='w'), self.stack.UPDATE)
        native = self.native_lock(created.id, 'UPDATE')
        native.state_set('UPDATE', native.COMPLETE,
                         lock=native.LOCK_RELEASE)
        self.assertFalse(held_locks.holds(ENGINE, created.id))
        self.act(created.id, is_update=True)
        self.assert_done(created.id, 'UPDATE', 'handle_update')
