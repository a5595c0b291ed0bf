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

"""A Mistral of several processes loses one engine and one executor.

Issue 26, item 4. The cloud is restarted once for the class with Mistral
split into separate processes (``tools/devcloud start --mistral-split``:
an API, two engines, two executors with ``[executor] type = remote``, a
notifier and the periodic server) and the fast watchdog and orphan check
of the fault tests; it is restored afterwards.

Mid-create, one Mistral engine and the executor that handed the stack's
nodes most are killed (kill -9) and left dead: the other engine and
executor must carry the stack to CREATE_COMPLETE with no user action,
every resource created once, and no execution of the stack left RUNNING.
What the dead processes held is recovered by the plugin: a node whose
``heat.run_node`` action died in the executor before it cast the node is
run by the watchdog as lost (``lost_node_timeout``); a task the dead
engine had created and not started stalls the execution, which the orphan
check drives again (a fresh execution; the stalled one CANCELLED).
"""

import os
import tempfile
import time

from tests.functional import base
from tests.functional_restart import faults

SIZE = 40
SLOW = 6
SLOW_SECS = 20
LAYERS = 4
OVERLAY = '90-mistral-split-test.conf'
ORPHAN_INTERVAL = 5
ORPHAN_GRACE = 15
SETTINGS = faults.FAST_WATCHDOG.replace(
    'orphan_check_interval = %d' % faults.ORPHAN_INTERVAL,
    'orphan_check_interval = %d' % ORPHAN_INTERVAL).replace(
    'orphan_grace_period = %d' % faults.ORPHAN_GRACE,
    'orphan_grace_period = %d' % ORPHAN_GRACE)
# From the kill: a lost node runs again within lost_node_timeout +
# watchdog_interval, a stalled execution is driven again within grace +
# interval of its last task change; then the slow resources and the
# layers after them (on two loaded cores, 180 s for 40 resources).
BOUND = (faults.LOST_NODE_TIMEOUT + faults.WATCHDOG_INTERVAL +
         ORPHAN_GRACE + ORPHAN_INTERVAL + SLOW_SECS + 180)


class MistralSplitTest(base.FunctionalTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._saved_split = os.environ.get('DEVCLOUD_MISTRAL_SPLIT')
        os.environ['DEVCLOUD_MISTRAL_SPLIT'] = '1'
        faults.overlay(SETTINGS, name=OVERLAY)
        faults.devcloud('restart')

    @classmethod
    def tearDownClass(cls):
        faults.overlay(None, name=OVERLAY)
        if cls._saved_split is None:
            del os.environ['DEVCLOUD_MISTRAL_SPLIT']
        else:
            os.environ['DEVCLOUD_MISTRAL_SPLIT'] = cls._saved_split
        faults.devcloud('restart')
        super().tearDownClass()

    def test_split_mistral_runs_the_heat_actions_in_its_executors(self):
        """Remote executors run heat.run_node, both engines complete nodes.

        The actions' origin check reads Mistral's database from the
        executor process, and the node completions reach the engines
        directly (``direct_completions``) or through the API.
        """
        self.assertEqual(['mistral-api', 'mistral-engine-1',
                          'mistral-engine-2', 'mistral-executor-1',
                          'mistral-executor-2', 'mistral-notifier',
                          'mistral-periodic'], faults.mistral_processes())
        fd, path = tempfile.mkstemp(suffix='.yaml')
        with os.fdopen(fd, 'w') as f:
            f.write(faults.big_template(12, 0, 0, layers=3))
        self.addCleanup(os.unlink, path)
        stack = self.create_stack(path)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        handed = faults.handed_per_executor(stack.id)
        self.assertEqual(12, sum(handed.values()), handed)
        with open(faults.dc_path('logs', 'mistral-api.log'),
                  errors='replace') as f:
            self.assertNotIn('Handed node', f.read())

    def test_one_engine_and_one_executor_killed_mid_create(self):
        fd, path = tempfile.mkstemp(suffix='.yaml')
        with os.fdopen(fd, 'w') as f:
            f.write(faults.big_template(SIZE, SLOW, SLOW_SECS,
                                        layers=LAYERS))
        self.addCleanup(os.unlink, path)
        stack = self.create_stack(path, wait=False)
        names = {'r%d' % i for i in range(SIZE)}
        self.assertIsNotNone(faults.wait_until(
            lambda: sum(len(n & names) for n in
                        faults.nodes_started_per_engine(stack.id).values())
            >= SIZE // 4, 240, 0.3),
            'a quarter of the stack did not start')
        executor = faults.busiest_executor(stack.id)
        faults.kill_mistral('mistral-engine-1')
        faults.kill_mistral(executor)
        killed = time.time()
        # Left dead for the whole create: the survivors carry the stack.
        self.addCleanup(faults.start_mistral, executor)
        self.addCleanup(faults.start_mistral, 'mistral-engine-1')

        final = faults.wait_for(self.heat, stack.id, BOUND + 60)
        took = time.time() - killed
        self.assertEqual('CREATE_COMPLETE', final.stack_status,
                         final.stack_status_reason)
        self.assertLess(took, BOUND)
        self.assertNotIn('mistral-engine-1', faults.mistral_processes())
        self.assertNotIn(executor, faults.mistral_processes())
        driven_again = faults.assert_complete_once(self, stack.id)
        print('mistral-engine-1 and %s killed; stack of %d complete %.0f s '
              'later; %d re-drive(s)' % (executor, SIZE, took,
                                         driven_again))
