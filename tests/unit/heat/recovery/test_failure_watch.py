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

"""The failure watch, with fakes of Heat's stacks and Mistral's listings."""

import datetime
import types
from unittest import mock

import fixtures
from heat.engine import stack as heat_stack

from heat_mistral_engine.graph import naming
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.recovery import failure_watch
from heat_mistral_engine.heat.store import traversal_mark
from tests.unit import base
from tests.unit.heat.recovery import test_orphans

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0)
SIZE_TEXT = ('Field size limit exceeded [class=TaskExecution, field=input, '
             'size=1536KB, limit=1024KB]')
# What Mistral may put in a state_info: a traceback, paths, the token.
SECRET_TEXT = ('Failed to run task [error=boom, wf=heat_stack_s1, task=web]'
               ':\nTraceback (most recent call last):\n  File "/usr/lib/'
               'python3/site-packages/mistral/engine/tasks.py", line 9\n'
               'token gAAAAABsecret')


class FakeHeat(test_orphans.FakeHeat):
    """The orphan check's fake Heat, with the watch's two reads."""

    def __init__(self, claims=None):
        super().__init__()
        self.names = {}              # resource id -> name
        self.claims = {} if claims is None else claims
        self.reads = 0

    def stack(self, sid):
        self.reads += 1
        return super().stack(sid)

    def resource_name(self, stack_id, node):
        return node.resource_name or self.names.get(node.resource_id)

    def claim_failure(self, traversal, execution_id):
        if traversal in self.claims:
            return False
        self.claims[traversal] = execution_id
        return True


class FakeMistral:
    """Failed tasks and executions as Mistral lists them."""

    def __init__(self):
        self.tasks = []
        self.executions = []
        self.execution_task_list = {}   # execution id -> [task]
        self.since = []
        self.down = False

    def failed_task(self, task_id, name, sid, trav='t1', ex_id='e1',
                    info=None):
        self.tasks.append(types.SimpleNamespace(
            id=task_id, name=name, workflow_name='heat_stack_%s' % sid,
            workflow_namespace=trav, workflow_execution_id=ex_id,
            state='ERROR', state_info=info))

    def failed_execution(self, ex_id, sid, trav='t1', info=None, tasks=()):
        self.executions.append(types.SimpleNamespace(
            id=ex_id, workflow_name='heat_stack_%s' % sid,
            workflow_namespace=trav, state='ERROR', state_info=info))
        self.execution_task_list[ex_id] = [
            types.SimpleNamespace(name=name, state=state, state_info=text)
            for name, state, text in tasks]

    def failed_stack_tasks(self, since):
        if self.down:
            raise mistral_api.MistralUnavailable('Mistral is down')
        self.since.append(since)
        return list(self.tasks)

    def failed_stack_executions(self, since):
        return list(self.executions)

    def execution_tasks(self, execution_id, state=None, name_has=None):
        return [t for t in self.execution_task_list.get(execution_id, ())
                if (state is None or t.state == state) and
                (name_has is None or name_has in t.name)]


class FailureWatchTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.heat = FakeHeat()
        self.mistral = FakeMistral()
        self.ended = []
        self.now = NOW
        self.log = self.useFixture(fixtures.FakeLogger(
            name=failure_watch.__name__))

    def watch(self, heat=None):
        return failure_watch.FailureWatch(
            heat or self.heat, self.mistral, now=lambda: self.now,
            end_execution=lambda *args: self.ended.append(args))

    def test_a_node_task_over_the_size_limit_fails_its_stack(self):
        self.heat.add('s1', age=5)
        self.mistral.failed_task('task-1', 'consumer', 's1', info=SIZE_TEXT)
        found = self.watch().poll()
        reason = ("Resource consumer: the data passed to it (1536 KB) "
                  "exceeds Mistral's [engine] execution_field_size_limit_kb "
                  "(1024 KB)")
        self.assertEqual([('s1', 't1', 'e1', reason, 'consumer')],
                         [(f.stack_id, f.traversal, f.execution_id,
                           f.reason, f.task) for f in found])
        self.assertEqual([('s1', reason)], self.heat.failed)
        # The execution still runs (other tasks may): it is ended too.
        self.assertEqual([('s1', 't1', reason)], self.ended)
        self.assertIn(SIZE_TEXT, self.log.output)

    def test_a_generated_task_name_is_read_back_to_the_resource_name(self):
        self.heat.add('s1')
        self.heat.names[42] = 'x{{ 6*7 }}'
        self.mistral.failed_task(
            'task-1', 'x_6_7_42', 's1',
            info=SIZE_TEXT.replace('field=input', 'field=published'))
        self.watch().poll()
        self.assertEqual(
            [('s1', "Resource x{{ 6*7 }}: the data it passes on (1536 KB) "
                    "exceeds Mistral's [engine] "
                    "execution_field_size_limit_kb (1024 KB)")],
            self.heat.failed)

    def test_an_execution_failed_by_hand_fails_its_stack_with_a_clean_reason(
            self):
        self.heat.add('s1', action='UPDATE')
        self.mistral.failed_execution('e1', 's1', info=SECRET_TEXT)
        (failure,) = self.watch().poll()
        self.assertIsNone(failure.task)
        request_id = self.log.output.split('[', 1)[1].split(']', 1)[0]
        self.assertTrue(request_id.startswith('req-'), self.log.output)
        self.assertEqual(
            "Mistral execution e1 of this UPDATE ended ERROR while the "
            "stack was IN_PROGRESS (Mistral's message is in heat-engine's "
            "log, request %s); recover with 'openstack stack update "
            "--existing' or delete the stack" % request_id, failure.reason)
        # Mistral's text is in the log, with the request id, not in the
        # reason.
        self.assertIn(SECRET_TEXT, self.log.output)
        for secret in ('Traceback', '/usr/lib', 'gAAAA', 'boom'):
            self.assertNotIn(secret, failure.reason)

    def test_a_failed_execution_names_the_resource_whose_task_failed(self):
        self.heat.add('s1')
        self.mistral.failed_execution(
            'e1', 's1', info='Failure caused by error in tasks: web',
            tasks=[('web', 'ERROR', 'Task timed out [timeout=60s]')])
        (failure,) = self.watch().poll()
        self.assertEqual('web', failure.task)
        self.assertIn('Mistral execution e1 of this CREATE ended ERROR at '
                      'resource web while the stack was IN_PROGRESS',
                      failure.reason)
        self.assertNotIn('timed out', failure.reason)

    def test_a_size_failure_found_through_the_execution(self):
        self.heat.add('s1')
        self.mistral.failed_execution(
            'e1', 's1', info='Failure caused by error in tasks: b',
            tasks=[('b', 'ERROR', 'Failed to run task: ' + SIZE_TEXT)])
        (failure,) = self.watch().poll()
        self.assertTrue(failure.reason.startswith(
            'Resource b: the data passed to it (1536 KB)'), failure.reason)

    def test_a_size_failure_of_no_node_names_the_execution(self):
        self.heat.add('s1')
        self.mistral.failed_execution('e1', 's1', info=SIZE_TEXT)
        (failure,) = self.watch().poll()
        self.assertEqual(
            "The data of Mistral execution e1 of this CREATE (1536 KB) "
            "exceeds Mistral's [engine] execution_field_size_limit_kb "
            "(1024 KB)", failure.reason)

    def test_failures_heat_caused_or_does_not_own_are_left(self):
        self.heat.add('done', status='FAILED')          # Heat failed it
        self.mistral.failed_task('t-1', 'web', 'done')
        self.heat.add('moved', trav='t2')               # rolled back
        self.mistral.failed_task('t-2', 'web', 'moved', trav='t1')
        self.heat.add('native', driven=False)           # not Mistral's
        self.mistral.failed_execution('e3', 'native')
        self.mistral.failed_execution('e4', 'deleted')
        self.heat.add('unnamed')                        # no namespace
        self.mistral.failed_execution('e5', 'unnamed', trav='')
        self.assertEqual([], self.watch().poll())
        self.assertEqual([], self.heat.failed)
        self.assertEqual([], self.ended)

    def test_hook_tasks_are_left_to_the_hook_report(self):
        self.heat.add('s1')
        before = 'web__before__audit'
        self.mistral.failed_task('t-1', before, 's1')
        self.mistral.failed_task('t-2', naming.failure_task(before), 's1')
        self.mistral.failed_task('t-3', 'web__hooks_done', 's1')
        self.assertEqual([], self.watch().poll())
        # The execution failed after its report task told Heat.
        self.mistral.failed_execution('e1', 's1', tasks=[
            (before, 'ERROR', 'hook failed'),
            (naming.failure_task(before), 'SUCCESS', None)])
        self.assertEqual([], self.watch().poll())
        self.assertEqual([], self.heat.failed)

    def test_a_hook_failure_that_could_not_be_reported_fails_the_stack(self):
        self.heat.add('s1')
        before = 'web__before__audit'
        self.mistral.failed_execution('e1', 's1', tasks=[
            (before, 'ERROR', 'hook failed'),
            (naming.failure_task(before), 'ERROR', 'cast failed')])
        (failure,) = self.watch().poll()
        self.assertEqual([('s1', failure.reason)], self.heat.failed)

    def test_workers_seeing_the_same_failure_fail_the_stack_once(self):
        claims = {}
        first, second = FakeHeat(claims), FakeHeat(claims)
        for heat in (first, second):
            heat.add('s1')
        self.mistral.failed_task('task-1', 'web', 's1')
        self.mistral.failed_execution('e1', 's1',
                                      tasks=[('web', 'ERROR', 'x')])
        found = self.watch(first).poll() + self.watch(second).poll()
        self.assertEqual(1, len(found))
        self.assertEqual(1, len(first.failed) + len(second.failed))
        self.assertEqual({'t1': 'e1'}, claims)

    def test_a_stack_that_moved_on_before_the_repair_is_not_ended(self):
        self.heat.add('s1')
        self.heat.fail_if_current = lambda *args: False
        self.mistral.failed_task('task-1', 'web', 's1')
        self.assertEqual([], self.watch().poll())
        self.assertEqual([], self.ended)

    def test_each_look_reaches_back_before_the_previous_one(self):
        self.heat.add('s1', status='COMPLETE')
        self.mistral.failed_task('task-1', 'web', 's1')
        watch = self.watch()
        watch.poll()
        self.now = NOW + datetime.timedelta(seconds=5)
        watch.poll()
        back = datetime.timedelta(seconds=failure_watch.LOOK_BACK)
        self.assertEqual([NOW - back, NOW - back], self.mistral.since)
        # Judged once, though listed twice.
        self.assertEqual(1, self.heat.reads)
        # Mistral down: the next look reaches back to the last good one.
        self.mistral.down = True
        self.now = NOW + datetime.timedelta(seconds=10)
        self.assertRaises(mistral_api.MistralUnavailable, watch.poll)
        self.mistral.down = False
        self.now = NOW + datetime.timedelta(seconds=15)
        watch.poll()
        self.assertEqual(NOW + datetime.timedelta(seconds=5) - back,
                         self.mistral.since[-1])

    def test_what_could_not_be_judged_is_judged_at_the_next_look(self):
        self.heat.add('s1')
        self.mistral.failed_task('task-1', 'web', 's1')
        watch = self.watch()
        real_stack = self.heat.stack
        self.heat.stack = lambda sid: 1 / 0
        self.assertEqual([], watch.poll())
        self.heat.stack = real_stack
        self.assertEqual(1, len(watch.poll()))

    def test_what_was_seen_long_ago_is_forgotten(self):
        self.heat.add('s1', status='COMPLETE')
        watch = self.watch()
        self.mistral.failed_task('task-1', 'web', 's1')
        watch.poll()
        self.mistral.tasks = []
        self.now = NOW + datetime.timedelta(
            seconds=3 * failure_watch.LOOK_BACK)
        watch.poll()
        watch.poll()
        self.assertEqual({}, watch._seen)


class FailureViewTest(base.HeatDbTestCase):
    """The watch on Heat's test database: claim, repair, resource name."""

    template = {'heat_template_version': '2021-04-16',
                'resources': {'producer': {'type': 'OS::Heat::None'},
                              'consumer': {'type': 'OS::Heat::None'}}}

    def setUp(self):
        super().setUp()
        # Heat's notifications need its RPC transport.
        self.useFixture(fixtures.MockPatch(
            'heat.engine.notification.stack.send'))
        stored = self.stack.current_traversal
        self.traversal = self.stack.current_traversal = 'trav-1'
        self.stack.store(exp_trvsl=stored)
        for rsrc in self.stack.resources.values():
            rsrc.store()
        producer = self.stack.resources['producer']
        producer.state_set(producer.CREATE, producer.IN_PROGRESS)
        traversal_mark.mark(self.ctx, self.stack.id, self.traversal)
        self.consumer_id = self.stack.resources['consumer'].id
        self.mistral = FakeMistral()
        self.mistral.failed_task(
            'task-1', 'consumer_%d' % self.consumer_id, self.stack.id,
            trav=self.traversal, info=SIZE_TEXT)
        self.ended = []

    def watch(self, claimant='engine-a'):
        return failure_watch.FailureWatch(
            failure_watch.FailureView(claimant, self.ctx), self.mistral,
            end_execution=lambda *args: self.ended.append(args))

    def test_the_stack_and_its_resources_in_progress_fail_once(self):
        (failure,) = self.watch().poll()
        self.assertEqual(
            "Resource consumer: the data passed to it (1536 KB) exceeds "
            "Mistral's [engine] execution_field_size_limit_kb (1024 KB)",
            failure.reason)
        stack = heat_stack.Stack.load(self.ctx, stack_id=self.stack.id,
                                      force_reload=True)
        self.assertEqual(('CREATE', 'FAILED', failure.reason),
                         (stack.action, stack.status, stack.status_reason))
        self.assertEqual('FAILED', stack.resources['producer'].status)
        self.assertEqual([(self.stack.id, self.traversal, failure.reason)],
                         self.ended)
        # Another worker's watch finds the stack failed already.
        self.assertEqual([], self.watch('engine-b').poll())

    def test_another_workers_claim_wins(self):
        self.assertTrue(traversal_mark.claim_failure(
            self.ctx, self.traversal, 'e1', 'engine-b'))
        self.assertEqual([], self.watch().poll())
        stack = heat_stack.Stack.load(self.ctx, stack_id=self.stack.id,
                                      force_reload=True)
        self.assertEqual('IN_PROGRESS', stack.status)

    def test_a_failed_repair_is_tried_again_by_the_same_worker(self):
        watch = self.watch()
        with mock.patch.object(heat_stack.Stack,
                               'reset_stack_and_resources_in_progress',
                               side_effect=RuntimeError('database gone')):
            self.assertEqual([], watch.poll())
        self.assertEqual([], self.watch('engine-b').poll())
        (failure,) = watch.poll()
        self.assertEqual([(self.stack.id, self.traversal, failure.reason)],
                         self.ended)

    def test_a_resource_of_another_stack_is_not_named(self):
        view = failure_watch.FailureView('engine-a', self.ctx)
        node = naming.read_node_task('consumer_%d' % self.consumer_id)
        self.assertEqual('consumer', view.resource_name(self.stack.id, node))
        self.assertIsNone(view.resource_name('other-stack', node))
        self.assertIsNone(view.resource_name(
            self.stack.id, naming.NodeTask(True, resource_id=10 ** 6)))
