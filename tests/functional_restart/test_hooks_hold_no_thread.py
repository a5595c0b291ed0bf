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

"""A resource held by a breakpoint hook holds no Mistral thread.

With devcloud's ``[executor] type = local``, Mistral 23 calls an action's
``run`` after the engine call that started its task: the engine's RPC
server (oslo.messaging's ``executor_thread_pool_size``) or its job
scheduler (``[scheduler] in_memory_workers``) handles the call, and
``post_tx_queue`` then runs the action in a new thread of its own, one per
call, which ``DefaultExecutor`` joins on yet another. An action that
waited for its resource would not starve those pools but keep these
threads alive until the hook is cleared. Mistral is restarted here with
4 + 2 pool threads; 16 pre-create hooks (two stacks of eight resources)
are then held at once. Mistral's thread count must not grow with them,
another stack must still be created while they wait, and clearing the
hooks completes both stacks.

Checked to fail: with ``RunNode.run`` made to wait after its cast, the
thread count grew by more than 16.
"""

import os
import re
import time

import fixtures

from tests.functional import base
from tests.functional_restart import test_bad_config

RPC_THREADS = 4
SCHEDULER_THREADS = 2
MISTRAL_CONF = ('[DEFAULT]\nexecutor_thread_pool_size = %d\n'
                '[scheduler]\nin_memory_workers = %d\n'
                % (RPC_THREADS, SCHEDULER_THREADS))
RESOURCES = ['r%d' % i for i in range(8)]
# A pre-create breakpoint on every resource of the stack.
HOOKS_ENV = ('resource_registry:\n  resources:\n    "*":\n'
             '      hooks: pre-create\n')


class HooksHoldNoThreadTest(base.FunctionalTest):

    def setUp(self):
        super().setUp()
        self.useFixture(test_bad_config.HeatConfOverlay(
            MISTRAL_CONF, conf_dir='mistral.conf.d'))

    def assert_mistral_reads_the_overlay(self):
        etc = os.path.join(os.environ['DEVCLOUD_DIR'], 'etc')
        with open(os.path.join(os.environ['DEVCLOUD_DIR'], 'pids',
                               'mistral.pid')) as f:
            pid = int(f.read())
        # mistral-server rewrites its title, keeping its arguments.
        with open('/proc/%d/cmdline' % pid) as f:
            command_line = f.read().replace('\0', ' ')
        self.assertIn('--config-dir %s' % os.path.join(
            etc, 'mistral.conf.d'), command_line)

    def mistral_threads(self):
        """Threads of all Mistral processes (devcloud's process group)."""
        with open(os.path.join(os.environ['DEVCLOUD_DIR'], 'pids',
                               'mistral.pid')) as f:
            group = int(f.read())
        total = 0
        for name in os.listdir('/proc'):
            try:
                if not name.isdigit() or os.getpgid(int(name)) != group:
                    continue
                with open('/proc/%s/status' % name) as f:
                    total += int(re.search(r'^Threads:\s+(\d+)', f.read(),
                                           re.M).group(1))
            except (OSError, AttributeError):
                continue   # a process that ended meanwhile
        return total

    def pending_hooks(self, stack_id):
        """Resources paused at their pre-create hook, from Heat's events.

        As heatclient's ``hook poll`` finds them, which itself fails while
        the stack has no "Stack CREATE started" event yet.
        """
        pending = set()
        for event in self.heat.events.list(stack_id, sort_dir='asc',
                                           sort_keys='created_at'):
            reason = event.resource_status_reason or ''
            if reason == 'CREATE paused until Hook pre-create is cleared':
                pending.add(event.resource_name)
            elif reason == 'Hook pre-create is cleared':
                pending.discard(event.resource_name)
        return sorted(pending)

    def wait_for_hooks(self, stack_id, timeout=180):
        deadline = time.time() + timeout
        while self.pending_hooks(stack_id) != RESOURCES:
            self.assertLess(time.time(), deadline,
                            'stack %s: hooks pending %s, expected %s'
                            % (stack_id, self.pending_hooks(stack_id),
                               RESOURCES))
            time.sleep(2)

    def test_held_hooks_beyond_mistrals_threads_block_no_other_stack(self):
        self.assert_mistral_reads_the_overlay()
        env = os.path.join(self.useFixture(fixtures.TempDir()).path,
                           'hooks.yaml')
        with open(env, 'w') as f:
            f.write(HOOKS_ENV)
        # A first stack grows Mistral's pools to what the load needs.
        warm = self.create_stack(self.template('chain.yaml'))
        self.assertEqual('CREATE_COMPLETE', warm.stack_status,
                         warm.stack_status_reason)
        before = self.mistral_threads()
        held = [self.create_stack(self.template('parallel.yaml'), wait=False,
                                  extra=['-e', env]).id
                for _ in range(2)]
        for stack_id in held:
            self.wait_for_hooks(stack_id)
        # Threads that ran the casts end within moments of them.
        time.sleep(5)
        grown = self.mistral_threads() - before
        self.assertLess(grown, len(held) * len(RESOURCES) // 2,
                        'Mistral has %d more threads while %d hooks are '
                        'held' % (grown, len(held) * len(RESOURCES)))
        waiting = 0
        for stack_id in held:
            execution = self.executions(stack_id)[-1]
            self.assertEqual('RUNNING', execution.state)
            tasks = self.mistral.tasks.list(
                workflow_execution_id=execution.id, limit=-1)
            self.assertEqual(['RUNNING'] * len(RESOURCES),
                             [t.state for t in tasks])
            waiting += len(tasks)
        self.assertGreater(waiting, RPC_THREADS + SCHEDULER_THREADS)

        other = self.wait_for_stack(self.create_stack(
            self.template('chain.yaml'), wait=False).id, timeout=180)
        self.assertEqual('CREATE_COMPLETE', other.stack_status,
                         other.stack_status_reason)
        self.assert_tasks_succeeded(other.id, ['a', 'b', 'c'])
        for stack_id in held:
            self.assertEqual(RESOURCES, self.pending_hooks(stack_id))
            self.assertEqual('CREATE_IN_PROGRESS', self.heat.stacks.get(
                stack_id).stack_status)

        for stack_id in held:
            base.openstack('stack', 'hook', 'clear', '--pre-create',
                           stack_id, *RESOURCES, parse=False)
        for stack_id in held:
            stack = self.wait_for_stack(stack_id, timeout=180)
            self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                             stack.stack_status_reason)
            self.assert_tasks_succeeded(stack_id, RESOURCES)
