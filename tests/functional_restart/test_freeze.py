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


"""A frozen heat-engine whose nodes were taken over is fenced (issue 26).

Issue 26, item 3: an engine taken for dead that comes back must not act
twice, and its late report must not fail the stack. An engine whose
heartbeat stops (its host suspended or starved, or cut off from the
database) is taken for dead: the other engine's watchdog moves its nodes'
claims to itself, takes the resources' locks and runs the nodes again.
When the old engine comes back, its runs are fenced (``node.fence``): no
resource action starts again, nothing is reported to Mistral, no stack is
failed, and one WARNING line says so.

The cloud runs two heat-engines. Each round creates a stack whose first
layer is slow, waits until heat-engine-2 holds slow creates, then freezes
every process of heat-engine-2 with SIGSTOP (it answers nothing, beats no
heartbeat, keeps its connections), for longer than the bound in which a
dead engine's node is taken over, and lets it go on with SIGCONT:

* ``taking-over``: as soon as the other engine logs its first take-over
  of the stack's nodes (its re-runs have not started the action yet);
* ``taken-over``: once the re-runs of every node taken over have started;
* ``stack-complete``: once the stack is CREATE_COMPLETE without
  heat-engine-2, which then finishes its creates and would report them
  last.

The slow creates outlast the take-over bound, so heat-engine-2 is still in
them when it is taken for dead. Each round requires CREATE_COMPLETE with no
user action and still so once heat-engine-2 is done; every resource
CREATE_COMPLETE once in the stack's events (a node taken over shows its
"Worker went down" failure and one completed create, of its replacement);
for every node taken over, one fenced line in heat-engine-2's log; no
report refused by Mistral as "already been completed by someone else than
Heat" in any engine's log; every execution of the stack SUCCESS.
"""

import collections
import os
import re
import tempfile
import time

from tests.functional import base
from tests.functional_restart import faults

ENGINES = 2
FROZEN = 'heat-engine-2'
OVERLAY = '90-freeze.conf'
LIFE_CHECK = 2
# A dead engine's node runs again within this many seconds (the operator
# guide's bound, with the fault tests' settings).
TAKEOVER_BOUND = (faults.WATCHDOG_INTERVAL + faults.DEAD_ENGINE_SILENCE +
                  LIFE_CHECK)
# The slow creates outlast the bound: the frozen engine is still in them
# when it is taken for dead (one that ended earlier would have reported).
SLOW_SECS = TAKEOVER_BOUND + 40
SIZE = 8
LAYERS = 2
SLOW = SIZE // LAYERS
ROUNDS = ('taking-over', 'taken-over', 'stack-complete')
SLACK = 120
TAMPERED = 'had already been completed by someone else than Heat'
STARTED = r'Node (r\d+) \(resource (\d+), create/update\) of stack %s '
TAKEN_OVER = (r'Watchdog: re-running node resource (\d+) \(create/update\) '
              r'of stack %s traversal \S+ in engine \S+ for Mistral action '
              r'execution \S+: its engine \S+ is dead')
FENCED = (r'Node resource (\d+) \(create/update\) of stack %s traversal '
          r'\S+: fenced in engine ')


def found_in_logs(pattern, stack_id, engines=None):
    """Counter of group 1 of ``pattern`` (with the stack id) in the logs.

    ``engines``: a predicate of the engine's name (default: every one).
    """
    regex = re.compile(pattern % re.escape(stack_id))
    found = collections.Counter()
    for engine, text in faults.engine_logs().items():
        if engines is None or engines(engine):
            found.update(regex.findall(text))
    return found


def others(engine):
    return engine != FROZEN


class FreezeTest(base.FunctionalTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        faults.overlay(faults.FAST_WATCHDOG, name=OVERLAY)
        faults.devcloud('restart', '--engines', str(ENGINES))

    @classmethod
    def tearDownClass(cls):
        faults.thaw_engine(FROZEN)
        faults.overlay(None, name=OVERLAY)
        faults.devcloud('restart', '--engines', '1')
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        # Whatever fails, the engine is let go on (the stack's deletion
        # and the cloud's stop need it).
        self.addCleanup(faults.thaw_engine, FROZEN)

    def slow_stack(self):
        fd, path = tempfile.mkstemp(suffix='.yaml')
        with os.fdopen(fd, 'w') as f:
            f.write(faults.big_template(SIZE, SLOW, SLOW_SECS,
                                        layers=LAYERS))
        self.addCleanup(os.unlink, path)
        return self.create_stack(path, wait=False)

    @staticmethod
    def started_by_frozen(stack_id):
        """{resource id: name} of the nodes FROZEN started for the stack."""
        regex = re.compile(STARTED % re.escape(stack_id))
        return {rid: name for name, rid in regex.findall(
            faults.engine_logs().get(FROZEN, ''))}

    def held_by_frozen(self, stack_id, slow):
        """{resource id: name} of slow creates FROZEN started, in progress."""
        started = {rid: name for rid, name in self.started_by_frozen(
            stack_id).items() if name in slow}
        if not started:
            return None
        in_progress = {name for name, rsrc in self.resources(
            stack_id).items() if rsrc.resource_status ==
            'CREATE_IN_PROGRESS'}
        return {rid: name for rid, name in started.items()
                if name in in_progress} or None

    def stack_status(self, stack_id):
        return faults.wait_for(self.heat, stack_id, 0,
                               api_errors_allowed=3).stack_status

    def let_go_when(self, when, stack_id):
        """Wait for round ``when``'s moment while FROZEN is frozen.

        Returns the ids taken over by then (maybe more follow).
        """
        def taken():
            return set(found_in_logs(TAKEN_OVER, stack_id, others))

        def rerun_started():
            ids = taken()
            started = set()
            for engine, names in faults.nodes_started_per_engine(
                    stack_id).items():
                if others(engine):
                    started |= names
            # A node of FROZEN's started elsewhere: its re-run.
            names = self.started_by_frozen(stack_id)
            return ids if ids and {names.get(rid) for rid in ids} <= \
                started else None

        def complete():
            try:
                return self.stack_status(stack_id) == 'CREATE_COMPLETE'
            except Exception:
                # heat-api's call went to the frozen engine and timed out.
                return False

        bound = TAKEOVER_BOUND + 60
        if when == 'taking-over':
            return faults.wait_until(taken, bound, 0.2)
        if when == 'taken-over':
            return faults.wait_until(rerun_started, bound + 30, 0.5)
        if not faults.wait_until(taken, bound, 1):
            return None
        faults.wait_until(complete, SLOW_SECS + SLACK, 3)
        return taken()

    def play_round(self, when):
        stack = self.slow_stack()
        slow = {'r%d' % i for i in range(SLOW)}
        held = faults.wait_until(
            lambda: self.held_by_frozen(stack.id, slow), 180, 0.5)
        if not held:
            # The broker gave every slow node to the other engine.
            return None
        faults.freeze_engine(FROZEN)
        frozen = time.time()
        try:
            seen = self.let_go_when(when, stack.id)
        finally:
            faults.thaw_engine(FROZEN)
        let_go = time.time() - frozen
        self.assertTrue(seen, 'no node of %s taken over within %d s of the '
                        'freeze (%s)' % (FROZEN, let_go, when))
        final = faults.wait_for(self.heat, stack.id, SLOW_SECS + SLACK,
                                api_errors_allowed=10)
        self.assertEqual('CREATE_COMPLETE', final.stack_status,
                         final.stack_status_reason)
        taken = set(found_in_logs(TAKEN_OVER, stack.id, others))

        def fenced_lines():
            return found_in_logs(FENCED, stack.id, lambda e: e == FROZEN)
        # FROZEN's runs end once their creates do (at the latest
        # SLOW_SECS after they started): each is fenced.
        faults.wait_until(lambda: taken <= set(fenced_lines()),
                          SLOW_SECS + 60, 1)
        fenced = fenced_lines()
        self.assertEqual({rid: 1 for rid in taken},
                         {rid: fenced[rid] for rid in taken},
                         'fenced lines of the nodes taken over')
        frozen_nodes = self.started_by_frozen(stack.id)
        self.assertTrue(taken <= set(frozen_nodes), (taken, frozen_nodes))
        self.assert_acted_once(stack.id)
        print('%s frozen %.0f s (%s) holding %s; taken over: %s; fenced: '
              '%s' % (FROZEN, let_go, when, sorted(held.values()),
                      sorted(frozen_nodes[r] for r in taken), dict(fenced)))
        return taken

    def assert_acted_once(self, stack_id):
        # Still complete once FROZEN is done: its late reports failed
        # nothing.
        self.assertEqual('CREATE_COMPLETE', self.stack_status(stack_id))
        for name, rsrc in self.resources(stack_id).items():
            self.assertEqual('CREATE_COMPLETE', rsrc.resource_status, name)
        events = faults.stack_events(self.heat, stack_id)
        completed = collections.Counter(
            name for name, status, _r in events
            if status == 'CREATE_COMPLETE')
        self.assertEqual({'r%d' % i: 1 for i in range(SIZE)},
                         dict(completed), 'CREATE_COMPLETE events')
        self.assertEqual(0, faults.creation_counts(events)[0],
                         'created twice')
        self.assertEqual([], [e for e in events if 'FAILED' in e[1] and
                              faults.WORKER_WENT_DOWN not in (e[2] or '')])
        tampered = [line for text in faults.engine_logs().values()
                    for line in text.splitlines()
                    if TAMPERED in line and stack_id in line]
        self.assertEqual([], tampered)

        def ended():
            found = self.executions(stack_id)
            return found if not any(
                e.state in ('RUNNING', 'PAUSED', 'IDLE') for e in found) \
                else None
        executions = faults.wait_until(ended, 60, 1)
        self.assertIsNotNone(executions, 'an execution stayed RUNNING')
        self.assertEqual(['SUCCESS'] * len(executions),
                         [e.state for e in executions])

    def test_a_frozen_engine_taken_over_is_fenced(self):
        played = 0
        for when in ROUNDS:
            played += self.play_round(when) is not None
        self.assertGreaterEqual(played, len(ROUNDS) - 1,
                                '%s held no slow create in most rounds'
                                % FROZEN)
