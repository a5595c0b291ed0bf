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

"""Stopping work: cancel, delete or update while a traversal runs, timeout.

Each test drives a stack whose resource ``slow`` takes a while (template
slow_chain.yaml: first -> slow -> after) and checks, against the real
cloud:

* the stack's and resources' final states and reasons, which are those
  native Heat convergence gives (observed with ``[mistral_scheduler]
  enabled = false`` on the same cloud, see doc/source/user-guide.rst);
* that the Mistral execution of the stopped traversal ends (CANCELLED or
  ERROR, never left RUNNING) within a few seconds;
* that no resource action of the stopped traversal began after the stop
  (Heat's events).

With ``HME_NATIVE=1`` in the environment the same tests check only Heat's
side, against a cloud running with ``[mistral_scheduler] enabled = false``:
that is how the expected states and reasons were taken from native Heat.
"""

import os
import time

from tests.functional import base

# Seconds within which the execution of a stopped traversal must end.
ENDS_WITHIN = 10
ENDED = ('CANCELLED', 'ERROR')


class StoppingTest(base.FunctionalTest):

    def setUp(self):
        super().setUp()
        with open(self.template('slow_chain.yaml')) as f:
            self.template_text = f.read()
        self.native = os.environ.get('HME_NATIVE') == '1'

    # -- driving the stack (Heat's API, as the openstack CLI does) --------
    def start(self, wait, **kwargs):
        """Create the chain without waiting; returns the stack id."""
        created = self.heat.stacks.create(
            stack_name=self.stack_name(), template=self.template_text,
            parameters={'wait': wait}, **kwargs)
        stack_id = created['stack']['id']
        self.addCleanup(self._delete_quietly, stack_id)
        return stack_id

    def update(self, stack_id, value, wait):
        self.heat.stacks.update(stack_id, template=self.template_text,
                                parameters={'value': value, 'wait': wait})

    def created(self, wait=0):
        stack_id = self.start(wait)
        stack = self.wait_for_stack(stack_id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status)
        return stack_id

    def wait_for_resource(self, stack_id, name, status, timeout=120):
        deadline = time.time() + timeout
        while True:
            found = self.heat.resources.get(stack_id, name).resource_status
            if found == status:
                return
            self.assertLess(time.time(), deadline, '%s never reached %s '
                            '(%s)' % (name, status, found))
            time.sleep(0.3)

    def state(self, stack_id):
        stack = self.heat.stacks.get(stack_id, resolve_outputs=False)
        return stack.stack_status, stack.stack_status_reason

    def stopped_state(self, stack_id):
        """State and reason once Heat's stop (run in a thread) is done."""
        stack = self.wait_for_stack(stack_id, timeout=30)
        return stack.stack_status, stack.stack_status_reason

    def resource_states(self, stack_id):
        return {name: (r.resource_status, r.resource_status_reason)
                for name, r in self.resources(stack_id).items()}

    def begun_after(self, stack_id, since, action):
        """Resources whose ``action`` began at or after ``since``."""
        name = self.heat.stacks.get(stack_id,
                                    resolve_outputs=False).stack_name
        events = self.heat.events.list(stack_id, sort_dir='asc',
                                       sort_keys='created_at')
        return [(e.resource_name, e.event_time) for e in events
                if e.resource_status == '%s_IN_PROGRESS' % action and
                e.resource_name != name and
                _epoch(e.event_time) >= since]

    # -- Mistral -----------------------------------------------------------
    def executions_for(self, stack_id, action):
        """The stack's executions for ``action``, oldest first."""
        if self.native:
            return [None]
        return [e for e in self.executions(stack_id)
                if ') %s, traversal ' % action in (e.description or '')]

    def assert_ends_soon(self, execution, states=ENDED, state_info=None):
        """The execution leaves RUNNING within ENDS_WITHIN seconds.

        ``state_info``, if given, is in the execution's state_info.
        """
        if self.native:
            return
        execution_id = execution.id
        deadline = time.time() + ENDS_WITHIN
        while True:
            execution = self.mistral.executions.get(execution_id)
            if execution.state not in ('RUNNING', 'IDLE', 'PAUSED'):
                break
            self.assertLess(time.time(), deadline, 'execution %s still %s '
                            '%d s after Heat stopped its traversal'
                            % (execution_id, execution.state, ENDS_WITHIN))
            time.sleep(0.3)
        self.assertIn(execution.state, states, execution.state_info)
        if state_info is not None:
            self.assertIn(state_info, execution.state_info or '')
        return execution

    def assert_execution(self, stack_id, action, state='SUCCESS'):
        """The one execution for ``action`` ended in ``state``."""
        if not self.native:
            execution = self.execution_of(stack_id, action)
            self.assertEqual(state, execution.state, execution.state_info)

    def assert_none_running(self, stack_id):
        if self.native:
            return
        self.assertEqual([], [(e.id, e.description)
                              for e in self.executions(stack_id)
                              if e.state == 'RUNNING'])

    # -- cancel ------------------------------------------------------------
    def test_cancel_create_without_rollback(self):
        stack_id = self.start(wait=20)
        self.wait_for_resource(stack_id, 'slow', 'CREATE_IN_PROGRESS')
        create = self.executions_for(stack_id, 'CREATE')[0]
        cancelled_at = time.time()
        self.heat.actions.cancel_without_rollback(stack_id)
        self.assertEqual(('CREATE_FAILED', 'Stack CREATE cancelled'),
                         self.stopped_state(stack_id))
        self.assert_ends_soon(create, ('CANCELLED',),
                              'Stack CREATE cancelled')
        # As in Heat, the resource action in flight is not interrupted...
        self.wait_for_resource(stack_id, 'slow', 'CREATE_COMPLETE')
        time.sleep(3)
        # ...but nothing starts after it.
        self.assertEqual(('CREATE_FAILED', 'Stack CREATE cancelled'),
                         self.state(stack_id))
        self.assertEqual('INIT', self.resource_states(stack_id)['after'][0]
                         .split('_')[0])
        self.assertEqual([], self.begun_after(stack_id, cancelled_at,
                                              'CREATE'))
        self.assert_none_running(stack_id)

    def test_cancel_stops_the_nested_stacks_executions_too(self):
        with open(self.template('nested_slow.yaml')) as f:
            created = self.heat.stacks.create(
                stack_name=self.stack_name(), template=f.read(),
                files={'slow_chain.yaml': self.template_text},
                parameters={'wait': 20})
        stack_id = created['stack']['id']
        self.addCleanup(self._delete_quietly, stack_id)
        deadline = time.time() + 120
        while True:
            child_id = self.heat.resources.get(
                stack_id, 'inner').physical_resource_id
            if child_id:
                break
            self.assertLess(time.time(), deadline, 'inner never started')
            time.sleep(0.5)
        self.wait_for_resource(child_id, 'slow', 'CREATE_IN_PROGRESS')
        parent = self.executions_for(stack_id, 'CREATE')[0]
        child = self.executions_for(child_id, 'CREATE')[0]
        cancelled_at = time.time()
        self.heat.actions.cancel_without_rollback(stack_id)
        self.assertEqual(('CREATE_FAILED', 'Stack CREATE cancelled'),
                         self.stopped_state(stack_id))
        self.assertEqual(('CREATE_FAILED', 'Stack CREATE cancelled'),
                         self.stopped_state(child_id))
        self.assert_ends_soon(parent, ('CANCELLED',),
                              'Stack CREATE cancelled')
        self.assert_ends_soon(child, ('CANCELLED',),
                              'Stack CREATE cancelled')
        self.wait_for_resource(child_id, 'slow', 'CREATE_COMPLETE')
        time.sleep(3)
        self.assertEqual([], self.begun_after(child_id, cancelled_at,
                                              'CREATE'))
        self.assertEqual([], self.begun_after(stack_id, cancelled_at,
                                              'CREATE'))
        self.assert_none_running(stack_id)
        self.assert_none_running(child_id)

    def test_cancel_create_with_rollback_is_refused_as_in_heat(self):
        stack_id = self.start(wait=15)
        self.wait_for_resource(stack_id, 'slow', 'CREATE_IN_PROGRESS')
        proc = base.openstack('stack', 'cancel', stack_id, parse=False,
                              check=False)
        self.assertNotEqual(0, proc.returncode)
        # The client refuses it before asking Heat (whose engine would
        # say "Cancelling update when stack is CREATE_IN_PROGRESS").
        self.assertIn("with status 'create_in_progress' not in cancelable "
                      "state", proc.stdout + proc.stderr)
        stack = self.wait_for_stack(stack_id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status)
        self.assert_execution(stack_id, 'CREATE')

    def test_cancel_update_with_rollback(self):
        stack_id = self.created()
        self.update(stack_id, 'two', wait=20)
        self.wait_for_resource(stack_id, 'slow', 'UPDATE_IN_PROGRESS')
        update = self.executions_for(stack_id, 'UPDATE')[0]
        cancelled_at = time.time()
        self.heat.actions.cancel_update(stack_id)
        self.assert_ends_soon(update, ('CANCELLED',),
                              'Superseded by the ROLLBACK traversal')
        stack = self.wait_for_stack(stack_id)
        self.assertEqual(('ROLLBACK_COMPLETE',
                          'Stack ROLLBACK completed successfully'),
                         (stack.stack_status, stack.stack_status_reason))
        self.assertEqual({'first': 'one', 'slow': 'one', 'after': 'one'},
                         self.values(stack_id))
        # after was never updated: the update stopped at slow.
        self.assertNotIn('after', [name for name, _t in self.begun_after(
            stack_id, cancelled_at, 'UPDATE')])
        self.assert_execution(stack_id, 'ROLLBACK')
        self.assert_none_running(stack_id)

    def test_cancel_update_without_rollback(self):
        stack_id = self.created()
        self.update(stack_id, 'two', wait=20)
        self.wait_for_resource(stack_id, 'slow', 'UPDATE_IN_PROGRESS')
        update = self.executions_for(stack_id, 'UPDATE')[0]
        cancelled_at = time.time()
        self.heat.actions.cancel_without_rollback(stack_id)
        self.assertEqual(('UPDATE_FAILED', 'Stack UPDATE cancelled'),
                         self.stopped_state(stack_id))
        self.assert_ends_soon(update, ('CANCELLED',),
                              'Stack UPDATE cancelled')
        self.wait_for_resource(stack_id, 'slow', 'UPDATE_COMPLETE')
        time.sleep(3)
        self.assertEqual(('UPDATE_FAILED', 'Stack UPDATE cancelled'),
                         self.state(stack_id))
        self.assertEqual([], self.begun_after(stack_id, cancelled_at,
                                              'UPDATE'))
        self.assert_none_running(stack_id)

    # -- delete, update while running ---------------------------------------
    def test_delete_while_update_in_progress(self):
        stack_id = self.created()
        self.update(stack_id, 'two', wait=60)
        self.wait_for_resource(stack_id, 'slow', 'UPDATE_IN_PROGRESS')
        update = self.executions_for(stack_id, 'UPDATE')[0]
        deleted_at = time.time()
        self.heat.stacks.delete(stack_id)
        self.assert_ends_soon(update, ('CANCELLED',),
                              'Stack UPDATE cancelled')
        stack = self.wait_for_stack(stack_id)
        self.assertEqual('DELETE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        # Heat's THREAD_CANCEL reached the node running slow's update: it
        # was aborted, not waited for (60 s).
        self.assertLess(time.time() - deleted_at, 50)
        reasons = [e.resource_status_reason for e in self.heat.events.list(
            stack_id, resource_name='slow')
            if e.resource_status == 'UPDATE_FAILED']
        self.assertEqual(['UPDATE aborted (user triggered cancel)'], reasons)
        self.assertEqual([], self.begun_after(stack_id, deleted_at,
                                              'UPDATE'))
        self.assert_execution(stack_id, 'DELETE')
        self.assert_none_running(stack_id)

    def test_new_update_supersedes_a_running_one(self):
        stack_id = self.created()
        self.update(stack_id, 'two', wait=20)
        self.wait_for_resource(stack_id, 'slow', 'UPDATE_IN_PROGRESS')
        first = self.executions_for(stack_id, 'UPDATE')[0]
        self.update(stack_id, 'three', wait=0)
        self.assert_ends_soon(first, ('CANCELLED',),
                              'Superseded by the UPDATE traversal')
        stack = self.wait_for_stack(stack_id)
        self.assertEqual(('UPDATE_COMPLETE',
                          'Stack UPDATE completed successfully'),
                         (stack.stack_status, stack.stack_status_reason))
        self.assertEqual({'first': 'three', 'slow': 'three',
                          'after': 'three'}, self.values(stack_id))
        if not self.native:
            # By id, not position: both may carry the same created_at second.
            updates = [e.id for e in self.executions_for(stack_id, 'UPDATE')]
            self.assertIn(first.id, updates)
            second = [e for e in updates if e != first.id]
            self.assertEqual(['SUCCESS'], [self.wait_for_execution(e).state
                                           for e in second])
        self.assert_none_running(stack_id)

    # -- failure without rollback ------------------------------------------
    def test_failure_ends_execution_while_a_node_is_in_flight(self):
        with open(self.template('fail_beside_slow.yaml')) as f:
            created = self.heat.stacks.create(stack_name=self.stack_name(),
                                              template=f.read())
        stack_id = created['stack']['id']
        self.addCleanup(self._delete_quietly, stack_id)
        self.wait_for_resource(stack_id, 'slow', 'CREATE_IN_PROGRESS')
        create = self.executions_for(stack_id, 'CREATE')[0]
        stack = self.wait_for_stack(stack_id)
        failed_at = time.time()
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertIn('Resource CREATE failed: ValueError: resources.bad: '
                      'Test Resource failed', stack.stack_status_reason)
        # slow is still being created: the execution does not wait for it.
        self.assertEqual('CREATE_IN_PROGRESS',
                         self.resource_states(stack_id)['slow'][0])
        self.assert_ends_soon(create, ('ERROR',), 'Test Resource failed')
        # As in Heat, slow's create finishes; after never starts.
        self.wait_for_resource(stack_id, 'slow', 'CREATE_COMPLETE')
        time.sleep(3)
        self.assertEqual('INIT_COMPLETE',
                         self.resource_states(stack_id)['after'][0])
        self.assertEqual([], self.begun_after(stack_id, failed_at, 'CREATE'))
        self.assertEqual('CREATE_FAILED', self.state(stack_id)[0])
        self.assert_none_running(stack_id)

    # -- timeout -------------------------------------------------------------
    def test_timeout_fails_stack_and_execution_on_time(self):
        stack_id = self.start(wait=600, timeout_mins=1)
        self.wait_for_resource(stack_id, 'slow', 'CREATE_IN_PROGRESS')
        create = self.executions_for(stack_id, 'CREATE')[0]
        created = _epoch(self.heat.stacks.get(stack_id).creation_time)
        stack = self.wait_for_stack(stack_id, timeout=120)
        failed_at = time.time()
        self.assertEqual(('CREATE_FAILED', 'Timed out'),
                         (stack.stack_status, stack.stack_status_reason))
        # On time: the deadline is 60 s after the create began.
        self.assertLess(failed_at - created, 75)
        states = self.resource_states(stack_id)
        self.assertEqual('CREATE_FAILED', states['slow'][0])
        self.assertTrue(states['slow'][1].startswith(
            'CREATE aborted (Task create from TestResource "slow" Stack '),
            states['slow'][1])
        self.assertTrue(states['slow'][1].endswith('Timed out)'),
                        states['slow'][1])
        self.assertEqual('INIT_COMPLETE', states['after'][0])
        self.assert_ends_soon(create, ('ERROR',), 'Timed out')
        self.assert_none_running(stack_id)

    def values(self, stack_id):
        return {name: self.heat.resources.get(stack_id, name).attributes
                .get('output') for name in ('first', 'slow', 'after')}


def _epoch(timestamp):
    """Heat's ISO 8601 UTC timestamp -> seconds since the epoch."""
    return time.mktime(time.strptime(timestamp[:19], '%Y-%m-%dT%H:%M:%S')) \
        - time.timezone
