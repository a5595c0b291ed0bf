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

"""Mistral killed mid-create: the stack completes with no user action.

Issue 26, item 2. A Mistral engine killed (kill -9) mid-create may leave
tasks IDLE that it had not started yet: the execution stays RUNNING and
nothing moves it on. The orphan check finds it stalled and drives the
traversal again (``heat.recovery.redrive``): the stalled execution is
cancelled and a fresh one of the same traversal starts, in which the
resources already created answer from their claims and only the rest is
created. Whether a kill leaves tasks IDLE depends on timing; either way the
stack must end CREATE_COMPLETE by itself, no resource may be created
twice, and no execution of the stack may stay RUNNING.

Because a kill leaves tasks IDLE only by chance, a second test stalls an
execution for certain, through Mistral's API: it pauses the execution
mid-create (an operator could), so that Mistral starts no further task;
the orphan check sees a stalled execution and drives the traversal again.

A re-driven execution whose traversal completed meanwhile (the stalled
execution's last nodes finished in Heat after the re-drive started it)
sends only nodes that ran already: it must end SUCCESS without acting, not
ERROR. A third test sets that race's outcome for certain: the stack
completes, then a fresh execution of its traversal starts as a re-drive
starts one.

The cloud is restarted once for the class with the orphan check every 5 s
and a 15 s grace period (heat.conf.d overlay), and restored afterwards.
"""

import datetime
import json
import os
import tempfile
import time

from tests.functional import base
from tests.functional_restart import faults

SIZE = 36
PAUSED_SIZE = 24
COMPLETED_SIZE = 12
OVERLAY = '90-redrive-test.conf'
SLOW = 6
SLOW_SECS = 15
ORPHAN_INTERVAL = 5
ORPHAN_GRACE = 15
SETTINGS = ('[mistral_scheduler]\norphan_check_interval = %d\n'
            'orphan_grace_period = %d\n' % (ORPHAN_INTERVAL, ORPHAN_GRACE))
# The operator guide's bound, from the moment Mistral answers again: a
# stalled execution is driven again within grace + interval of its last
# task change, plus one check's own duration (CHECK_SLACK, generous: CI
# runs at a load of 5 and more). The rest of the stack then takes the
# time its resources take, which at such a load is not a figure to assert
# (it is reported, and measured by tox -e chaos): the test only waits
# for it, for up to COMPLETE_WAIT.
CHECK_SLACK = 40
REDRIVE_BOUND = ORPHAN_GRACE + ORPHAN_INTERVAL + CHECK_SLACK
COMPLETE_WAIT = 600


class RedriveTest(base.FunctionalTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        faults.overlay(SETTINGS, name=OVERLAY)
        faults.devcloud('restart')

    @classmethod
    def tearDownClass(cls):
        faults.overlay(None, name=OVERLAY)
        faults.devcloud('restart')
        super().tearDownClass()

    def template_path(self, size, slow=SLOW):
        fd, path = tempfile.mkstemp(suffix='.yaml')
        with os.fdopen(fd, 'w') as f:
            f.write(faults.big_template(size, slow, SLOW_SECS, layers=3))
        self.addCleanup(os.unlink, path)
        return path

    def create_and_start(self, size):
        """Create a stack of ``size`` and wait till a quarter started."""
        stack = self.create_stack(self.template_path(size), wait=False)
        names = {'r%d' % i for i in range(size)}
        self.assertIsNotNone(faults.wait_until(
            lambda: sum(len(n & names) for n in
                        faults.nodes_started_per_engine(stack.id).values())
            >= size // 4, 240, 0.3),
            'a quarter of the stack did not start')
        return stack

    def assert_complete_once(self, stack_id):
        """``faults.assert_complete_once``: the number of re-drives."""
        return faults.assert_complete_once(self, stack_id)

    def wait_for_mistral(self, timeout=120):
        def answers():
            try:
                self.mistral.executions.list(limit=1)
            except Exception:
                return False
            return True
        self.assertIsNotNone(faults.wait_until(answers, timeout, 0.5),
                             'Mistral did not answer again')

    def redriven_after(self, stack_id, since):
        """Seconds from ``since`` (epoch) to the first re-drive, or None.

        The first re-drive is the stack's second execution: Mistral's
        created_at (UTC, whole seconds) of the fresh execution.
        """
        executions = self.executions(stack_id)
        if len(executions) < 2:
            return None
        created = datetime.datetime.strptime(
            executions[1].created_at, '%Y-%m-%d %H:%M:%S').replace(
                tzinfo=datetime.timezone.utc)
        return created.timestamp() - since

    def test_mistral_killed_mid_create_completes_without_user_action(self):
        stack = self.create_and_start(SIZE)
        faults.restart_mistral()
        self.wait_for_mistral()
        back = time.time()
        final = faults.wait_for(self.heat, stack.id, COMPLETE_WAIT)
        took = time.time() - back
        self.assertEqual('CREATE_COMPLETE', final.stack_status,
                         final.stack_status_reason)
        redrives = self.assert_complete_once(stack.id)
        redriven = self.redriven_after(stack.id, back)
        if redriven is not None:
            # -1: created_at has whole seconds.
            self.assertLess(redriven, REDRIVE_BOUND)
            self.assertGreater(redriven, -1)
        print('Mistral killed; stack of %d complete %.0f s after Mistral '
              'answered again; %d re-drive(s)%s' % (
                  SIZE, took, redrives, '' if redriven is None else
                  ', the first %.0f s after' % redriven))

    def test_a_stalled_execution_is_driven_again(self):
        stack = self.create_and_start(PAUSED_SIZE)
        (execution,) = self.executions(stack.id)
        self.mistral.executions.update(execution.id, 'PAUSED')
        paused = time.time()
        final = faults.wait_for(self.heat, stack.id, COMPLETE_WAIT)
        self.assertEqual('CREATE_COMPLETE', final.stack_status,
                         final.stack_status_reason)
        self.assertEqual(1, self.assert_complete_once(stack.id))
        redriven = self.redriven_after(stack.id, paused)
        self.assertLess(redriven, REDRIVE_BOUND)
        self.assertGreater(redriven, -1)
        self.assertEqual('CANCELLED', self.mistral.executions.get(
            execution.id).state)

    def test_a_redrive_of_a_completed_traversal_ends_success(self):
        stack = self.create_stack(self.template_path(COMPLETED_SIZE, 0))
        self.assertEqual('CREATE_COMPLETE', stack.stack_status)
        (first,) = self.executions(stack.id)
        self.assertEqual('SUCCESS', self.wait_for_execution(first.id).state)
        events = faults.stack_events(self.heat, stack.id)
        # As redrive.Redriver starts it: the traversal's definition, the
        # same input and description.
        again = self.mistral.executions.create(
            first.workflow_id, workflow_input=json.loads(first.input),
            description=first.description)
        ended = self.wait_for_execution(again.id, timeout=120)
        # Each node is answered as done (before: refused, "traversal ...
        # is already complete", and the execution ended ERROR).
        self.assertEqual('SUCCESS', ended.state, ended.state_info)
        self.assertEqual(COMPLETED_SIZE, len([
            t for t in self.mistral.tasks.list(
                workflow_execution_id=again.id, limit=-1)
            if t.state == 'SUCCESS']))
        # Nothing acted on: no event, the stack as it was.
        self.assertEqual(events, faults.stack_events(self.heat, stack.id))
        self.assertEqual('CREATE_COMPLETE', self.heat.stacks.get(
            stack.id).stack_status)
