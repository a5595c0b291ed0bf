"""A resource held by a breakpoint hook holds no Mistral thread.

With devcloud's ``[executor] type = local``, Mistral runs an action's
``run`` in the thread that scheduled it: a thread of the engine's RPC
server (oslo.messaging's ``executor_thread_pool_size``) or of its job
scheduler (``[scheduler] in_memory_workers``). An action that waited for
its resource would hold one of them until the hook is cleared. Mistral is
restarted here with 4 + 2 such threads; 16 pre-create hooks (two stacks of
eight resources) are then held at once, and a third stack must still be
created while they wait. Clearing the hooks then completes both stacks.
"""

import os
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
        held = [self.create_stack(self.template('parallel.yaml'), wait=False,
                                  extra=['-e', env]).id
                for _ in range(2)]
        for stack_id in held:
            self.wait_for_hooks(stack_id)
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
