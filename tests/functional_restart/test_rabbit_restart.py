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

"""RabbitMQ restarted mid-create, on a broker of this cloud's own.

The machine's RabbitMQ is shared by other clouds and is never stopped:
the class restarts the cloud with a private RabbitMQ node
(``DEVCLOUD_PRIVATE_RABBIT_PORT``, see ``tools/devcloud``), two
heat-engines and the fast watchdog, and puts the default cloud (one
engine, the machine's broker) back at the end. Named to run after the
other tests of this directory (they run serially, in name order).
"""

import os
import tempfile
import time

from tests.functional import base
from tests.functional_restart import faults

ENGINES = 2
SIZE = 60
SLOW = 6
SLOW_SECS = 40
# Seconds the broker stays stopped before it is started again.
DOWN_SECS = 10
# After the broker answers again: a node whose cast was lost runs again
# within lost_node_timeout + watchdog_interval; a stalled execution (Mistral
# lost a start_task cast) is failed within orphan_grace_period +
# orphan_check_interval. Then the slow resources and their dependents.
BOUND = (max(faults.LOST_NODE_TIMEOUT + faults.WATCHDOG_INTERVAL,
             faults.ORPHAN_GRACE + faults.ORPHAN_INTERVAL) +
         SLOW_SECS + 90)


class RabbitRestartTest(base.FunctionalTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._saved_port = os.environ.get('DEVCLOUD_PRIVATE_RABBIT_PORT')
        port = faults.private_rabbit_port()
        os.environ['DEVCLOUD_PRIVATE_RABBIT_PORT'] = port
        faults.overlay(faults.FAST_WATCHDOG)
        faults.devcloud('restart', '--engines', str(ENGINES))

    @classmethod
    def tearDownClass(cls):
        faults.overlay(None)
        if cls._saved_port is None:
            del os.environ['DEVCLOUD_PRIVATE_RABBIT_PORT']
        else:
            os.environ['DEVCLOUD_PRIVATE_RABBIT_PORT'] = cls._saved_port
        # Stops the private broker too (devcloud stops what it started).
        faults.devcloud('restart', '--engines', '1')
        super().tearDownClass()

    def test_rabbit_restart_mid_create_completes_or_recovers(self):
        """Stop the broker while nodes run, start it DOWN_SECS later.

        Casts queued in the broker are lost with it (non-durable queues):
        Heat's node casts come back through the watchdog's lost-node path,
        a Mistral ``start_task`` cast leaves its task IDLE (the execution
        stalls, the orphan check fails the stack naming it, and ``openstack
        stack update --existing`` completes it). While the broker is down
        no engine answers Heat's liveness check: no running resource may
        be taken for one of a dead engine (replaced) or created twice.
        """
        fd, path = tempfile.mkstemp(suffix='.yaml')
        with os.fdopen(fd, 'w') as f:
            f.write(faults.big_template(SIZE, SLOW, SLOW_SECS, layers=3))
        self.addCleanup(os.unlink, path)
        stack = self.create_stack(path, wait=False)
        slow = {'r%d' % i for i in range(SLOW)}
        self.assertIsNotNone(faults.wait_until(
            lambda: sum(len(n & slow) for n in faults.nodes_started_per_engine(
                stack.id).values()) >= SLOW, 240, 0.5),
            'the slow resources did not all start')
        down = faults.restart_rabbit(DOWN_SECS)
        back = time.time()

        # heat-api may answer 500 to a poll whose RPC reply the restarted
        # broker lost: seen once, 2026-11-26, in a run whose logs were
        # rotated away before they were read; a user would poll again.
        faults.wait_for(self.heat, stack.id, BOUND + 60,
                        api_errors_allowed=2)
        took = time.time() - back
        first, recovered = faults.settle_or_recover(self.heat, stack.id, 0)
        # Ended (completed or failed with a reason), never stuck.
        self.assertLess(took, BOUND, 'broker down %.0f s' % down)
        faults.assert_completed_or_recovered(self, stack.id, first,
                                             recovered)
