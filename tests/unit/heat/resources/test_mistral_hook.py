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

"""OS::Mistral::Hook: the run state machine and the Heat resource.

Mistral is faked (a python-mistralclient look-alike); Heat is real (its
sqlite test database, its TaskRunner driving handle/check).
"""

import json
import re
from unittest import mock

import fixtures
from heat.common import exception
from heat.engine import environment
from heat.engine import resources
from heat.engine import scheduler
from heat.engine import service as heat_service
from heat.engine import stack as heat_stack
from heat.objects import event as event_object
from heat.tests import utils as heat_test_utils
from mistralclient.api import base as mistral_base

from heat_mistral_engine.heat.patches import validate_warnings
from heat_mistral_engine.heat.resources import hidden_input
from heat_mistral_engine.heat.resources import mistral_hook as hook_resource
from heat_mistral_engine.heat.resources import mistral_hook_run as hook_run
from heat_mistral_engine.heat.patches import heat_release
from heat_mistral_engine.heat.patches import environment as env_patch
from tests.unit import base
from tests.unit.heat.traversal import test_concurrency_cap


class Obj:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class FakeMistral:
    """Executions whose states the test scripts, and workflows."""

    def __init__(self, workflows=None):
        self.workflows_by_name = workflows or {}
        self.states = {}          # execution id -> list of states to report
        self.records = {}         # execution id -> Obj
        self.created = []         # (workflow, input, description)
        self.cancelled = []
        self.task_list = {}
        self.script = []          # per created execution: list of records
        self.executions = Obj(create=self._create, get=self._get,
                              update=self._update)
        self.tasks = Obj(list=self._tasks)
        self.workflows = Obj(get=self._workflow)

    def _create(self, workflow, workflow_input=None, description=''):
        ident = 'ex-%d' % (len(self.created) + 1)
        self.created.append((workflow, workflow_input, description))
        self.states[ident] = list(self.script.pop(0)) if self.script else [
            Obj(state='SUCCESS', output='{}', state_info=None)]
        return Obj(id=ident)

    def _get(self, ident):
        queue = self.states[ident]
        record = queue.pop(0) if len(queue) > 1 else queue[0]
        record.id = ident
        return record

    def _update(self, ident, state):
        self.cancelled.append((ident, state))
        self.states[ident] = [Obj(state=state, state_info='cancelled',
                                  output='{}')]

    def _tasks(self, workflow_execution_id=None):
        return self.task_list.get(workflow_execution_id, [])

    def _workflow(self, name):
        try:
            return self.workflows_by_name[name]
        except KeyError:
            raise mistral_base.APIException(404, 'Workflow not found')


def running():
    return Obj(state='RUNNING', state_info=None, output=None)


def success(output):
    return Obj(state='SUCCESS', state_info=None, output=json.dumps(output))


def error(info):
    return Obj(state='ERROR', state_info=info, output=None)


class MistralHookRunTest(base.TestCase):

    def run_of(self, client, **kwargs):
        self.clock = base.FakeClock()
        return hook_run.MistralHookRun(client, 'h', 'wf1', {'a': 1}, 'desc',
                                       clock=self.clock, **kwargs)

    def test_start_then_poll_until_success(self):
        client = FakeMistral()
        client.script = [[running(), success({'k': 'v'})]]
        run = self.run_of(client)
        self.assertEqual('ex-1', run.start())
        self.assertEqual([('wf1', {'a': 1}, 'desc')], client.created)
        self.assertFalse(run.poll())
        self.assertTrue(run.poll())
        self.assertEqual({'k': 'v'}, run.output)

    def test_failure_carries_the_execution_message(self):
        client = FakeMistral()
        client.script = [[error('boom from the workflow')]]
        run = self.run_of(client)
        run.start()
        failed = self.assertRaises(hook_run.MistralHookFailed, run.poll)
        self.assertEqual('Hook workflow wf1 failed: boom from the workflow',
                         str(failed))

    def test_failure_message_from_the_failed_task(self):
        client = FakeMistral()
        client.script = [[error('Failure caused by error in tasks: t1\n')]]
        client.task_list['ex-1'] = [
            Obj(name='t0', state='SUCCESS', state_info=None),
            Obj(name='t1', state='ERROR', state_info='disk full ')]
        run = self.run_of(client)
        run.start()
        failed = self.assertRaises(hook_run.MistralHookFailed, run.poll)
        self.assertEqual('Hook workflow wf1 failed: t1: disk full',
                         str(failed))

    def test_retry_waits_then_starts_a_new_execution(self):
        client = FakeMistral()
        client.script = [[error('first')], [success({'n': 2})]]
        run = self.run_of(client, retries=1, delay=5)
        run.start()
        delay = self.assertRaises(hook_run.RetryDelay, run.poll)
        self.assertEqual(5, delay.seconds)
        self.clock.now += 2
        self.assertEqual(3, self.assertRaises(hook_run.RetryDelay,
                                              run.poll).seconds)
        self.assertEqual(1, len(client.created))
        self.clock.now += 3
        self.assertFalse(run.poll())       # second execution started
        self.assertEqual('ex-2', run.execution_id)
        self.assertTrue(run.poll())
        self.assertEqual({'n': 2}, run.output)

    def test_retries_exhausted_fail_with_the_last_message(self):
        client = FakeMistral()
        client.script = [[error('one')], [error('two')]]
        run = self.run_of(client, retries=1)
        run.start()
        self.assertRaises(hook_run.RetryDelay, run.poll)
        run.poll()
        failed = self.assertRaises(hook_run.MistralHookFailed, run.poll)
        self.assertEqual('Hook workflow wf1 failed: two (after 2 attempts)',
                         str(failed))

    def test_timeout_cancels_and_names_hook_and_timeout(self):
        client = FakeMistral()
        client.script = [[running()]]
        run = self.run_of(client, timeout=3)
        run.start()
        self.clock.now += 2
        self.assertFalse(run.poll())
        self.assertEqual([], client.cancelled)
        self.clock.now += 1
        failed = self.assertRaises(hook_run.MistralHookFailed, run.poll)
        self.assertEqual([('ex-1', 'CANCELLED')], client.cancelled)
        self.assertIn('Hook h timed out', str(failed))
        self.assertIn('within 3 s', str(failed))
        self.assertIn('wf1', str(failed))

    def test_cancel_leaves_finished_executions_alone(self):
        client = FakeMistral()
        run = self.run_of(client)
        run.cancel()                       # nothing started: no call
        run.start()
        run.cancel()
        self.assertEqual([], client.cancelled)


class InputCheckTest(base.TestCase):

    def test_interface_names_and_required(self):
        workflow = Obj(name='w', interface='{"input": ["a", {"b": 1}]}',
                       definition='')
        self.assertEqual(({'a', 'b'}, {'a'}),
                         hook_resource.declared_input(workflow))

    def test_definition_when_no_interface(self):
        workflow = Obj(name='w', definition='version: "2.0"\nw:\n  input:\n'
                       '    - a\n    - b: null\n  tasks: {}\n')
        self.assertEqual(({'a', 'b'}, {'a'}),
                         hook_resource.declared_input(workflow))

    def test_problems_name_keys_and_workflow(self):
        self.assertEqual([], hook_resource.input_problems(
            'w', {'a', 'b'}, {'a'}, {'a': None}))
        self.assertEqual(
            ['input x, y not declared by workflow w (it takes: a, b)',
             'workflow w requires input a'],
            hook_resource.input_problems('w', {'a', 'b'}, {'a'},
                                         {'x': 1, 'y': 2}))


TEMPLATE = {
    'heat_template_version': '2021-04-16',
    'resources': {
        'before': {'type': 'OS::Heat::TestResource',
                   'properties': {'value': 'in'}},
        'hook': {'type': 'OS::Mistral::Hook',
                 'properties': {
                     'workflow': 'wf1',
                     'input': {'a': {'get_attr': ['before', 'output']}},
                     'retry': {'count': 1}}},
    },
}

WF1 = Obj(id='wf-id', name='wf1', interface={'input': ['a', {'b': 2}]},
          definition='')
WF_DEL = Obj(id='wfd-id', name='wf_del', interface={'input': ['x']},
             definition='')


class HookStackTestCase(base.TestCase):
    """Stacks with a hook on Heat's test database; Mistral faked."""

    def setUp(self):
        super().setUp()
        test_concurrency_cap.use_heat_test_db(self)
        self.client = FakeMistral({'wf1': WF1, 'wf_del': WF_DEL})
        self.stacks = []
        self.patch_client = mock.patch.object(
            hook_resource.MistralHook, 'client', return_value=self.client)
        self.patch_client.start()
        self.addCleanup(self.patch_client.stop)

    def stack(self, parameters=None, **hook_props):
        template = json.loads(json.dumps(TEMPLATE))
        template['resources']['hook']['properties'].update(hook_props)
        if parameters:
            template['parameters'] = parameters
        stack = heat_test_utils.parse_stack(template)
        stack.store()
        self.stacks.append(stack)   # resources only hold a weak reference
        return stack

    def create(self, rsrc):
        scheduler.TaskRunner(rsrc.create)(wait_time=0)


class MistralHookTest(HookStackTestCase):

    def test_registered_in_the_global_environment(self):
        self.assertIs(hook_resource.MistralHook,
                      resources.global_env().get_class('OS::Mistral::Hook'))

    def test_validate_accepts_declared_keys(self):
        self.assertIsNone(self.stack().validate())

    def test_validate_unknown_workflow(self):
        stack = self.stack(workflow='nope')
        failed = self.assertRaises(exception.StackValidationFailed,
                                   stack.validate)
        self.assertIn('Mistral workflow nope not found', str(failed))
        self.assertIn('hook', str(failed))

    def test_validate_wrong_and_missing_keys(self):
        stack = self.stack(input={'zz': 1})
        failed = self.assertRaises(exception.StackValidationFailed,
                                   stack.validate)
        self.assertIn('input zz not declared by workflow wf1', str(failed))
        self.assertIn('workflow wf1 requires input a', str(failed))

    def test_validate_delete_workflow_input(self):
        stack = self.stack(delete_workflow='wf_del')
        failed = self.assertRaises(exception.StackValidationFailed,
                                   stack.validate)
        self.assertIn('workflow wf_del requires input x', str(failed))

    def test_validate_mistral_unreachable(self):
        # The client's error names the internal URL: the log gets it, the
        # user one sentence with the request id it was logged under.
        logged = self.useFixture(fixtures.FakeLogger())
        self.client.workflows.get = mock.Mock(side_effect=ConnectionError(
            'Unable to establish connection to http://10.0.0.9:8989/v2'))
        failed = self.assertRaises(exception.StackValidationFailed,
                                   self.stack().validate)
        self.assertIn('Mistral (workflowv2) is unreachable', str(failed))
        self.assertNotIn('10.0.0.9', str(failed))
        request_id = re.search(r'request (req-[0-9a-f-]+)\)',
                               str(failed)).group(1)
        self.assertIn('[%s] Cannot check Mistral workflow wf1 of resource '
                      'hook: Unable to establish connection to '
                      'http://10.0.0.9:8989/v2' % request_id, logged.output)

    def test_create_stores_output_and_execution(self):
        self.client.script = [[running(), success({'k': {'deep': 'v'}})]]
        stack = self.stack()
        rsrc = stack['hook']
        self.create(rsrc)
        self.assertEqual((rsrc.CREATE, rsrc.COMPLETE), rsrc.state)
        self.assertEqual('ex-1', rsrc.resource_id)
        self.assertEqual({'k': {'deep': 'v'}},
                         rsrc.FnGetAtt('output'))
        self.assertEqual('v', rsrc.FnGetAtt('output', 'k', 'deep'))
        self.assertEqual('ex-1', rsrc.FnGetAtt('execution_id'))
        workflow, _input, description = self.client.created[0]
        self.assertEqual('wf1', workflow)
        self.assertIn('Heat hook hook of stack %s' % stack.name, description)
        # Stored: a fresh load reads the output without Mistral.
        self.client.executions.get = None
        loaded = heat_stack.Stack.load(stack.context, stack_id=stack.id)
        self.assertEqual({'k': {'deep': 'v'}},
                         loaded['hook'].FnGetAtt('output'))

    def test_failure_fails_the_resource_with_the_message(self):
        self.client.script = [[error('bad input')], [error('still bad')]]
        rsrc = self.stack()['hook']
        failed = self.assertRaises(exception.ResourceFailure,
                                   self.create, rsrc)
        self.assertEqual((rsrc.CREATE, rsrc.FAILED), rsrc.state)
        self.assertIn('Hook workflow wf1 failed: still bad', str(failed))
        self.assertEqual(2, len(self.client.created))  # retry count 1
        self.assertEqual('ex-2', rsrc.data().get('execution_id'))

    def test_delete_runs_nothing_without_delete_workflow(self):
        rsrc = self.stack()['hook']
        self.create(rsrc)
        scheduler.TaskRunner(rsrc.delete)(wait_time=0)
        self.assertEqual((rsrc.DELETE, rsrc.COMPLETE), rsrc.state)
        self.assertEqual(['wf1'], [c[0] for c in self.client.created])
        self.assertEqual([], self.client.cancelled)

    def test_delete_runs_the_delete_workflow(self):
        rsrc = self.stack(delete_workflow='wf_del',
                          delete_input={'x': 1})['hook']
        self.create(rsrc)
        scheduler.TaskRunner(rsrc.delete)(wait_time=0)
        self.assertEqual((rsrc.DELETE, rsrc.COMPLETE), rsrc.state)
        self.assertEqual([('wf1', {'a': None}), ('wf_del', {'x': 1})],
                         [c[:2] for c in self.client.created])
        self.assertIn(') DELETE, traversal', self.client.created[1][2])

    def test_delete_cancels_a_create_still_running(self):
        self.client.script = [[running()]]
        rsrc = self.stack()['hook']
        runner = scheduler.TaskRunner(rsrc.create)
        runner.start()
        runner.step()
        self.assertEqual('ex-1', rsrc.data().get('execution_id'))
        runner.cancel()
        scheduler.TaskRunner(rsrc.delete)(wait_time=0)
        self.assertIn(('ex-1', 'CANCELLED'), self.client.cancelled)

    def test_create_again_cancels_an_abandoned_execution(self):
        self.client.script = [[running()], [success({})]]
        rsrc = self.stack()['hook']
        runner = scheduler.TaskRunner(rsrc.create)
        runner.start()
        runner.step()        # ex-1 runs; its engine "dies": no cancel
        rsrc.state_set(rsrc.INIT, rsrc.COMPLETE)
        self.create(rsrc)
        self.assertEqual([('ex-1', 'CANCELLED')], self.client.cancelled)
        self.assertEqual('ex-2', rsrc.FnGetAtt('execution_id'))

    def test_update_reruns_only_when_workflow_or_input_change(self):
        stack = self.stack()
        rsrc = stack['hook']
        self.create(rsrc)
        new = self.stack(timeout=30)['hook']
        scheduler.TaskRunner(rsrc.update, new.t)(wait_time=0)
        self.assertEqual(1, len(self.client.created))
        self.client.script = [[success({'k': 2})]]
        new = self.stack(input={'a': 'changed'})['hook']
        scheduler.TaskRunner(rsrc.update, new.t)(wait_time=0)
        self.assertEqual(2, len(self.client.created))
        self.assertEqual({'a': 'changed'}, self.client.created[1][1])
        self.assertEqual({'k': 2}, rsrc.FnGetAtt('output'))


SECRET = {'secret': {'type': 'string', 'hidden': True,
                     'default': 's3cr3t'},
          'plain': {'type': 'string', 'default': 'p'}}


class HiddenInputTest(HookStackTestCase):
    """Hidden parameters in a hook's input: the user is told."""

    def told(self, stack):
        """(action, status, reason) of the events telling it, oldest first."""
        events = sorted(event_object.Event.get_all_by_stack(
            stack.context, stack.id), key=lambda e: e.id)
        return [(e.resource_action, e.resource_status,
                 e.resource_status_reason) for e in events
                if 'Hidden parameter' in (e.resource_status_reason or '')]

    def test_a_run_with_hidden_input_adds_an_event_first(self):
        stack = self.stack(parameters=SECRET, input={
            'a': {'str_replace': {'template': 'pw=$p',
                                  'params': {'$p': {'get_param': 'secret'}}}},
            'b': {'get_param': 'plain'}})
        rsrc = stack['hook']
        self.create(rsrc)
        self.assertEqual((rsrc.CREATE, rsrc.COMPLETE), rsrc.state)
        (told,) = self.told(stack)
        self.assertEqual(('CREATE', 'IN_PROGRESS'), told[:2])
        self.assertIn('Hidden parameter secret passed in input: Mistral '
                      'stores the workflow\'s input in clear text', told[2])
        # What Mistral got: the value, which is why the user is told.
        self.assertEqual({'a': 'pw=s3cr3t', 'b': 'p'},
                         self.client.created[0][1])

    def test_no_event_without_hidden_input(self):
        stack = self.stack(parameters=SECRET,
                           input={'a': {'get_param': 'plain'}})
        self.create(stack['hook'])
        self.assertEqual([], self.told(stack))

    def test_update_and_delete_runs_tell_it_too(self):
        stack = self.stack(parameters=SECRET)
        rsrc = stack['hook']
        self.create(rsrc)
        new = self.stack(parameters=SECRET, delete_workflow='wf_del',
                         input={'a': [{'get_param': 'secret'}]},
                         delete_input={'x': {'get_param': 'secret'}})['hook']
        scheduler.TaskRunner(rsrc.update, new.t)(wait_time=0)
        scheduler.TaskRunner(rsrc.delete)(wait_time=0)
        told = self.told(stack)
        self.assertEqual([('UPDATE', 'IN_PROGRESS'),
                          ('DELETE', 'IN_PROGRESS')],
                         [t[:2] for t in told])
        self.assertIn('passed in input', told[0][2])
        self.assertIn('passed in delete_input', told[1][2])

    def test_an_event_that_cannot_be_stored_is_logged(self):
        logged = self.useFixture(fixtures.FakeLogger())
        stack = self.stack(parameters=SECRET,
                           input={'a': {'get_param': 'secret'}})
        rsrc = stack['hook']
        add_event = rsrc._add_event

        def failing(action, status, reason):
            if 'Hidden' in (reason or ''):
                raise RuntimeError('db down')
            return add_event(action, status, reason)

        with mock.patch.object(rsrc, '_add_event', side_effect=failing):
            self.create(rsrc)
        self.assertEqual((rsrc.CREATE, rsrc.COMPLETE), rsrc.state)
        self.assertIn('Hidden parameter secret passed in input', logged.output)
        self.assertIn('the event could not be stored: db down',
                      logged.output)

    def validate_template(self, template):
        engine = heat_service.EngineService('a-host', 'a-topic')
        with mock.patch.object(heat_service.EngineService,
                               'validate_template',
                               heat_service.EngineService.validate_template):
            validate_warnings.install()
            return engine.validate_template(
                heat_test_utils.dummy_context(), template, {})

    def test_template_validate_lists_a_warning(self):
        template = json.loads(json.dumps(TEMPLATE))
        template['parameters'] = SECRET
        template['resources']['hook']['properties'].update(
            input={'a': {'get_param': 'secret'}}, delete_workflow='wf_del',
            delete_input={'x': {'get_param': ['secret']}})
        result = self.validate_template(template)
        expected = ['Resource hook: ' + hidden_input.warning(['secret'], key)
                    for key in ('input', 'delete_input')]
        self.assertEqual(expected, result['Warnings'])
        self.assertEqual('true', result['Parameters']['secret']['NoEcho'])

    def test_template_validate_answers_as_before_otherwise(self):
        template = json.loads(json.dumps(TEMPLATE))
        template['parameters'] = SECRET
        self.assertNotIn('Warnings', self.validate_template(template))
        template['resources']['hook']['properties']['nope'] = 'x'
        result = self.validate_template(template)
        self.assertEqual(['Error'], list(result))


class RegistrationTest(base.TestCase):

    def test_registers_into_the_environment_heat_builds(self):
        env = mock.Mock()
        read = []

        def read_global_environment(env, env_dir=None):
            # Heat's own reads environment.d after the types are in.
            read.append((env, env_dir, len(env.register_class.mock_calls)))

        with mock.patch('heat.engine.resources._environment', None), \
                mock.patch('heat.engine.environment.read_global_environment',
                           read_global_environment):
            env_patch.register_resource_types({'X::Y': object})
            env_patch.register_resource_types({'X::Z': int})
            environment.read_global_environment(env)
        env.register_class.assert_has_calls(
            [mock.call('X::Y', object), mock.call('X::Z', int)])
        self.assertEqual([(env, None, 2)], read)

    def test_refuses_an_unexpected_heat_signature(self):
        with mock.patch('heat.engine.resources._environment', None), \
                mock.patch('heat.engine.environment.read_global_environment',
                           lambda env: None):
            self.assertRaises(heat_release.IncompatibleHeat,
                              env_patch.register_resource_types,
                              {'X::Y': int})

    def test_registers_directly_once_built(self):
        env = mock.Mock()
        with mock.patch('heat.engine.resources._environment', env):
            env_patch.register_resource_types({'X::Y': object})
        env.register_class.assert_called_once_with('X::Y', object)
