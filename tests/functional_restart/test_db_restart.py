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


"""MariaDB restarted mid-create and mid-delete, on a database of its own.

The machine's MariaDB is shared by other clouds and is never stopped: the
class restarts the cloud with a private MariaDB server
(``DEVCLOUD_PRIVATE_DB_PORT``, see ``tools/devcloud``), two heat-engines
and the fast watchdog, and puts the default cloud (one engine, the
machine's database) back at the end.
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
# Seconds the database stays stopped before it is started again.
DOWN_SECS = 10
# After the database answers again, every waiting call of Heat's goes on
# within [database] db_max_retry_interval (10 s); then the slow resources
# and their dependents take their own time, which at CI's load is not a
# figure to assert (it is printed; tox -e chaos measures it). The failure
# this module guards against is a stack left IN_PROGRESS until its
# timeout (60 minutes): a stack still in progress after COMPLETE_WAIT
# fails the test.
COMPLETE_WAIT = 600


class DbRestartTest(base.FunctionalTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._saved_port = os.environ.get('DEVCLOUD_PRIVATE_DB_PORT')
        os.environ['DEVCLOUD_PRIVATE_DB_PORT'] = faults.private_db_port()
        faults.overlay(faults.FAST_WATCHDOG)
        faults.devcloud('restart', '--engines', str(ENGINES))

    @classmethod
    def tearDownClass(cls):
        faults.overlay(None)
        if cls._saved_port is None:
            del os.environ['DEVCLOUD_PRIVATE_DB_PORT']
        else:
            os.environ['DEVCLOUD_PRIVATE_DB_PORT'] = cls._saved_port
        # Stops the private database too (devcloud stops what it started).
        faults.devcloud('restart', '--engines', '1')
        super().tearDownClass()

    def test_db_restart_mid_create_completes(self):
        """Stop the database while nodes run, start it DOWN_SECS later.

        Without ``survive_db_restarts`` a resource action that called
        Heat's database meanwhile failed, and the stack with it
        (CREATE_FAILED, the database's address in the reason). Now the
        stack completes with no user action, no resource is created twice
        or replaced, no execution is left running, and no reason shown to
        the user names the database's address.
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
        down = faults.restart_db(DOWN_SECS)
        back = time.time()

        # heat-api answers 500 to a poll that reached Heat's database while
        # it was down; a user would poll again.
        final = faults.wait_for(self.heat, stack.id, COMPLETE_WAIT,
                                api_errors_allowed=30)
        took = time.time() - back
        self.assertEqual('CREATE_COMPLETE', final.stack_status,
                         final.stack_status_reason)
        print('database down %.0f s; stack ended %.0f s after it was back'
              % (down, took))
        events = faults.stack_events(self.heat, stack.id)
        self.assertEqual((0, 0), faults.creation_counts(events))
        address = '127.0.0.1:%s' % faults.private_db_port()
        for name, status, reason in events:
            self.assertNotIn('MySQL server', reason or '', name)
            self.assertNotIn(address, reason or '', name)
        running = [e.id for e in self.mistral.executions.list(
            workflow_name='heat_stack_%s' % stack.id, limit=-1)
            if e.state in ('RUNNING', 'PAUSED')]
        self.assertEqual([], running)

    def test_db_restart_mid_delete_completes(self):
        """Stop the database while slow deletes run, start it DOWN_SECS later.

        Mid-delete the stack stayed DELETE_IN_PROGRESS until it timed out
        (``tox -e chaos``, issue 26): a resource lock whose commit the
        server applied as it stopped was found, by Heat's retry of it,
        held by the node's own engine, and the node waited for itself.
        Whether a commit lands just then is up to timing; the slow deletes
        are the last layer (deleted first), so that the other chains'
        deletes take their locks around the stop. The stack must end
        DELETE_COMPLETE with no user action, every resource deleted once,
        and no execution left running.
        """
        fd, path = tempfile.mkstemp(suffix='.yaml')
        with os.fdopen(fd, 'w') as f:
            f.write(faults.big_template(
                SIZE, SLOW, SLOW_SECS, layers=3,
                waits={'delete': SLOW_SECS}, slow_layer=2))
        self.addCleanup(os.unlink, path)
        stack = self.create_stack(path, cleanup=False)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        base.openstack('stack', 'delete', '--yes', stack.id, parse=False)
        width = SIZE // 3
        slow = {'r%d' % (2 * width + i) for i in range(SLOW)}
        self.assertIsNotNone(faults.wait_until(
            lambda: sum(len(n & slow) for n in faults.nodes_of_action(
                stack.id, 'DELETE').values()) >= SLOW, 240, 0.5),
            'the slow deletes did not all start')
        down = faults.restart_db(DOWN_SECS)
        back = time.time()

        final = faults.wait_for(self.heat, stack.id, COMPLETE_WAIT,
                                api_errors_allowed=30)
        took = time.time() - back
        self.assertEqual('DELETE_COMPLETE', final.stack_status,
                         final.stack_status_reason)
        print('database down %.0f s; stack ended %.0f s after it was back'
              % (down, took))
        events = faults.stack_events(self.heat, stack.id)
        twice, _failed = faults.action_counts(events, 'DELETE')
        self.assertEqual([], sorted(twice))
        running = [e.id for e in self.mistral.executions.list(
            workflow_name='heat_stack_%s' % stack.id, limit=-1)
            if e.state in ('RUNNING', 'PAUSED')]
        self.assertEqual([], running)
