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

import datetime
import json
import types
from unittest import mock

import fixtures
from oslo_config import cfg

from heat_mistral_engine.heat.clients import mistral_api as mistral_client
from heat_mistral_engine import protocol
from tests.unit import base

# Mistral's times (UTC) of definitions uploaded long ago and just now, and
# the cleanup's clock: 2026-12-07 12:00:00 UTC.
OLD = '2026-12-07 10:00:00'
RECENT = '2026-12-07 11:59:50'
NOW = 1796644800.0

REQUEST = protocol.NodeRequest(
    action_execution_id='a1', stack_id='s1', traversal='t1',
    resource_id=4, is_update=True, data={}, token='t')


class FakeApiTestCase(base.TestCase):
    """A MistralService whose client is a mock; ``update`` is the PUT."""

    def setUp(self):
        super().setUp()
        self.conf.config(group='mistral_scheduler',
                         mistral_url='http://127.0.0.1:1/v2')
        self.service = mistral_client.MistralService()
        self.update = mock.Mock()
        self.service._client = mock.Mock()
        self.service._client.action_executions.update = self.update


class CompleteActionTest(FakeApiTestCase):
    """What heat-engine sends to Mistral's PUT /action_executions/<id>."""

    def sent(self):
        (action_id,), kwargs = self.update.call_args
        return action_id, kwargs['state'], json.loads(kwargs['output'])

    def test_action_result_is_what_the_action_was_completed_with(self):
        get = self.service._client.action_executions.get
        get.return_value = mock.Mock(
            state='SUCCESS', output='{"result": {"node": "r"}}')
        self.assertEqual(('SUCCESS', {'node': 'r'}),
                         self.service.action_result('a1'))
        get.assert_called_once_with('a1')
        get.return_value = mock.Mock(state='RUNNING', output=None)
        self.assertEqual(('RUNNING', None), self.service.action_result('a1'))

    def test_success_sends_the_node_data_object(self):
        self.service.complete_action('a1', output={'attrs': {'x': 1}})
        self.assertEqual(('a1', 'SUCCESS', {'attrs': {'x': 1}}), self.sent())

    def test_error_is_wrapped_in_an_object(self):
        # Mistral's API refuses a bare string as output.
        self.service.complete_action('a1', error='Resource CREATE failed')
        self.assertEqual(('a1', 'ERROR', {'reason': 'Resource CREATE failed'}),
                         self.sent())

    def test_api_failure_logs_the_url_and_tells_only_the_request_id(self):
        # The message may reach a stack's reason: it names the call, not
        # the URL nor the client's text (both can name internal hosts);
        # those are logged under the request id the message gives.
        logged = self.useFixture(fixtures.FakeLogger())
        self.update.side_effect = RuntimeError(
            'Unable to establish connection to http://10.0.0.9:8989/v2')
        exc = self.assertRaises(mistral_client.MistralUnavailable,
                                self.service.complete_action, 'a1', output={})
        self.assertRegex(str(exc), r'^Mistral failed to complete action '
                         r'execution a1 \(details in Heat\'s log, request '
                         r'req-[0-9a-f-]{36}\)$')
        self.assertEqual('Mistral at http://127.0.0.1:1/v2 failed to '
                         'complete action execution a1: Unable to establish '
                         'connection to http://10.0.0.9:8989/v2', exc.detail)
        self.assertIn('[%s] %s' % (exc.request_id, exc.detail),
                      logged.output)

    def test_report_is_retried_while_mistral_cannot_be_reached(self):
        # A Mistral restart: connection refused, then a 503, then it works.
        server_error = Exception('Service Unavailable')
        server_error.error_code = 503
        self.update.side_effect = [ConnectionRefusedError('refused'),
                                   server_error, None]
        with mock.patch.object(mistral_client.time, 'sleep') as sleep:
            self.service.complete_action('a1', output={}, retry_for=60)
        self.assertEqual(3, self.update.call_count)
        self.assertEqual([mock.call(mistral_client.REPORT_RETRY_SECONDS)] * 2,
                         sleep.call_args_list)

    def test_retries_end_after_retry_for_seconds(self):
        self.update.side_effect = ConnectionRefusedError('refused')
        clock = [1000.0]

        def sleep(seconds):
            clock[0] += seconds
        with mock.patch.object(mistral_client.time, 'sleep',
                               side_effect=sleep), \
                mock.patch.object(mistral_client.time, 'monotonic',
                                  side_effect=lambda: clock[0]):
            exc = self.assertRaises(mistral_client.MistralUnavailable,
                                    self.service.complete_action, 'a1',
                                    output={}, retry_for=5)
        self.assertIn('refused', exc.detail)
        # Attempts at 0, 2, 4 and 6 s: the one after the deadline is last.
        self.assertEqual(4, self.update.call_count)

    def test_completed_by_an_earlier_attempt_is_left_as_it_is(self):
        lost = ConnectionResetError('reset')
        done = Exception('ValueError: Action a1 is already completed')
        done.error_code = 500
        self.update.side_effect = [lost, done]
        with mock.patch.object(mistral_client.time, 'sleep'):
            self.assertIsNone(self.service.complete_action('a1', output={}))
        self.assertEqual(2, self.update.call_count)

    def test_completed_by_someone_else_is_raised_at_once(self):
        # Nothing of this call landed before: someone else completed the
        # action (node_runner fails the stack as tampered with).
        done = Exception('ValueError: Action a1 is already completed')
        done.error_code = 500
        self.update.side_effect = done
        exc = self.assertRaises(mistral_client.MistralUnavailable,
                                self.service.complete_action, 'a1',
                                output={})
        self.assertTrue(mistral_client.already_completed(exc))
        self.assertEqual(1, self.update.call_count)

    def test_refusal_is_not_retried_and_retries_end(self):
        refused = Exception('action execution is not RUNNING')
        refused.error_code = 400
        self.update.side_effect = refused
        self.assertRaises(mistral_client.MistralUnavailable,
                          self.service.complete_action, 'a1', output={})
        self.assertEqual(1, self.update.call_count)
        self.update.reset_mock()
        self.update.side_effect = ConnectionRefusedError('refused')
        with mock.patch.object(mistral_client.time, 'sleep'):
            exc = self.assertRaises(mistral_client.MistralUnavailable,
                                    self.service.complete_action, 'a1',
                                    output={}, retry_for=0)
        self.assertIn('refused', exc.detail)
        self.assertEqual(1, self.update.call_count)

    def test_misconfiguration_is_reported_naming_the_option(self):
        self.conf.config(group='mistral_scheduler', mistral_url=None)
        exc = self.assertRaises(mistral_client.MistralUnavailable,
                                mistral_client.MistralService)
        self.assertIn('[mistral_scheduler] endpoint_override is unset',
                      str(exc))

    def test_misconfiguration_names_the_option_not_its_value(self):
        # A stack's reason gets the option; the URL goes to the log.
        logged = self.useFixture(fixtures.FakeLogger())
        conf_file = self.useFixture(fixtures.TempDir()).join('heat.conf')
        with open(conf_file, 'w') as f:
            f.write('[mistral_scheduler]\nmistral_url = 10.0.0.9:8989/v2\n')
        cfg.CONF(['--config-file', conf_file], project='heat',
                 default_config_files=[], default_config_dirs=[])
        # setUp's URL (an override) would win over the file.
        cfg.CONF.clear_override('mistral_url', group='mistral_scheduler')
        exc = self.assertRaises(mistral_client.MistralUnavailable,
                                mistral_client.MistralService)
        self.assertEqual('heat-mistral-engine is misconfigured: '
                         '[mistral_scheduler] mistral_url has an invalid '
                         'value (details in Heat\'s log, request %s)'
                         % exc.request_id, str(exc))
        self.assertIn("[%s] heat-mistral-engine is misconfigured: "
                      "[mistral_scheduler] mistral_url has an invalid value: "
                      "'10.0.0.9:8989/v2' is not an http:// or https:// URL"
                      % exc.request_id, logged.output)


class ConfigProblemsTest(base.TestCase):

    def test_valid_config_has_no_problems(self):
        self.conf.config(group='mistral_scheduler',
                         mistral_url='http://127.0.0.1:8989/v2')
        self.assertEqual([], mistral_client.config_problems())

    def test_url_without_scheme_is_named(self):
        # Read from a file, as heat-engine reads it.
        conf_file = self.useFixture(fixtures.TempDir()).join('heat.conf')
        with open(conf_file, 'w') as f:
            f.write('[mistral_scheduler]\nmistral_url = 127.0.0.1:8989/v2\n')
        cfg.CONF(['--config-file', conf_file], project='heat',
                 default_config_files=[], default_config_dirs=[])
        [problem] = mistral_client.config_problems()
        self.assertIn("[mistral_scheduler] mistral_url has an invalid value: "
                      "'127.0.0.1:8989/v2' is not an http:// or https:// URL",
                      problem)

    def test_missing_encryption_key_is_named(self):
        self.conf.config(group='mistral_scheduler',
                         mistral_url='http://127.0.0.1:8989/v2')
        self.conf.config(auth_encryption_key='')
        [problem] = mistral_client.config_problems()
        self.assertIn('auth_encryption_key', problem)


class UploadWorkflowTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.conf.config(group='mistral_scheduler',
                         mistral_url='http://127.0.0.1:1/v2')

    def service(self, exists, project_id=None, others=(), namespace=''):
        """A service whose Mistral lists ``wf`` workflows.

        ``exists``: the service's own ``wf`` in ``namespace``; ``others``:
        (id, project, namespace[, created_at]) of more workflows called
        ``wf``.
        """
        service = mistral_client.MistralService()
        service._project_id = project_id
        service._client = mock.Mock()
        found = [mock.Mock(id=ident, project_id=project, namespace=space,
                           created_at=created[0] if created else None)
                 for ident, project, space, *created in others]
        if exists:
            found.append(mock.Mock(id='own-id', project_id=project_id,
                                   namespace=namespace))
        for workflow in found:
            workflow.name = 'wf'
        service._client.workflows.list.return_value = found
        created = mock.Mock(id='new-id')
        created.name = 'wf'
        service._client.workflows._create.return_value = [created]
        service._client.workflows.create.return_value = [created]
        return service

    @staticmethod
    def conflict(service):
        """Make creating a workflow fail as Mistral does for a duplicate."""
        exc = Exception('Duplicate entry for WorkflowDefinition')
        exc.error_code = 409
        service._client.workflows._create.side_effect = exc
        service._client.workflows.create.side_effect = exc

    def test_each_traversal_gets_a_new_definition_in_its_namespace(self):
        # Never an update of an earlier traversal's definition: Mistral's
        # engine caches definitions by (id, updated_at in whole seconds).
        service = self.service(exists=True, namespace='t0')
        self.assertEqual('new-id', service.create_workflow('wf', 'text',
                                                           namespace='t1'))
        (url, text), kwargs = service._client.workflows._create.call_args
        self.assertIn('skip_validation', url)
        self.assertIn('namespace=t1', url)
        self.assertEqual('text', text)
        self.assertEqual({'content-type': 'text/plain'}, kwargs['headers'])
        service._client.workflows._update.assert_not_called()

    def test_a_retried_start_replaces_its_own_definition_by_id(self):
        service = self.service(
            exists=True, namespace='t1', project_id='service',
            others=[('older', 'service', 't0'), ('squat-id', 'demo', 't1')])
        self.conflict(service)
        self.assertEqual('own-id', service.create_workflow('wf', 'text',
                                                           namespace='t1'))
        (url, _text), _kwargs = service._client.workflows._update.call_args
        self.assertIn('/workflows/own-id?', url)
        self.assertIn('namespace=t1', url)
        self.assertIn('skip_validation', url)

    def test_other_errors_are_reported(self):
        service = self.service(exists=False)
        service._client.workflows._create.side_effect = OSError('refused')
        exc = self.assertRaises(mistral_client.MistralUnavailable,
                                service.create_workflow, 'wf', 'text', 't1')
        self.assertIn('failed to create workflow wf: refused', exc.detail)
        self.assertIn('Mistral failed to create workflow wf (details in '
                      'Heat\'s log, request req-', str(exc))

    def test_validation_can_be_kept(self):
        self.conf.config(group='mistral_scheduler',
                         skip_workflow_validation=False)
        service = self.service(exists=False)
        service.create_workflow('wf', 'text', namespace='t1')
        service._client.workflows.create.assert_called_once_with(
            'text', namespace='t1')
        service._client.workflows._create.assert_not_called()
        service = self.service(exists=True, namespace='t1')
        self.conflict(service)
        service.create_workflow('wf', 'text', namespace='t1')
        service._client.workflows.update.assert_called_once_with(
            'text', namespace='t1', id='own-id')

    def cleanup(self, others, executions, project_id='service'):
        """A service with ``others`` and its own ``wf`` in namespace t3.

        ``executions``: (workflow id, state, project) of executions of wf.
        """
        service = self.service(exists=True, namespace='t3',
                               project_id=project_id, others=others)
        service._client.executions.list.return_value = [
            mock.Mock(workflow_id=wf, state=state, project_id=project)
            for wf, state, project in executions]
        return service

    def test_definitions_whose_executions_all_ended_are_deleted(self):
        service = self.cleanup(
            others=[('legacy', 'service', '', OLD),
                    ('t1-id', 'service', 't1', OLD),
                    ('squat-id', 'demo', 't1', OLD)],
            executions=[('legacy', 'SUCCESS', 'service'),
                        ('t1-id', 'CANCELLED', 'service'),
                        ('t1-id', 'ERROR', 'service'),
                        ('squat-id', 'SUCCESS', 'demo'),
                        ('own-id', 'RUNNING', 'service')])
        self.assertEqual(['legacy', 't1-id'], service.delete_workflows(
            'wf', keep_namespace='t3', now=NOW))
        self.assertEqual(
            [mock.call('legacy'), mock.call('t1-id')],
            service._client.workflows.delete.call_args_list)

    def test_a_definition_with_a_running_execution_is_kept(self):
        service = self.cleanup(
            others=[('t1-id', 'service', 't1', OLD)],
            executions=[('t1-id', 'SUCCESS', 'service'),
                        ('t1-id', 'RUNNING', 'service')])
        self.assertEqual([], service.delete_workflows('wf', 't3', now=NOW))
        service._client.workflows.delete.assert_not_called()

    def test_a_new_definition_not_started_yet_is_kept(self):
        # A newer traversal's, uploaded but its execution not started yet:
        # deleting it would fail the stack's current traversal.
        service = self.cleanup(
            others=[('t4-id', 'service', 't4', RECENT)], executions=[])
        self.assertEqual([], service.delete_workflows('wf', 't3', now=NOW))
        service._client.workflows.delete.assert_not_called()

    def test_an_old_definition_never_started_is_deleted(self):
        # Its start died between the upload and the execution.
        service = self.cleanup(
            others=[('t0-id', 'service', 't0', OLD),
                    ('t9-id', 'service', 't9', None)], executions=[])
        self.assertEqual(['t0-id'],
                         service.delete_workflows('wf', 't3', now=NOW))

    def test_the_callers_own_definition_is_kept(self):
        service = self.cleanup(
            others=[], executions=[('own-id', 'SUCCESS', 'service')])
        self.assertEqual([], service.delete_workflows('wf', 't3', now=NOW))
        service._client.executions.list.assert_not_called()

    def test_a_refused_delete_is_left_for_later(self):
        service = self.cleanup(
            others=[('a', 'service', 't0', OLD), ('b', 'service', 't1', OLD)],
            executions=[('a', 'SUCCESS', 'service'),
                        ('b', 'SUCCESS', 'service')])
        service._client.workflows.delete.side_effect = [
            Exception('has cron triggers'), None]
        self.assertEqual(['b'], service.delete_workflows('wf', 't3',
                                                         now=NOW))


class OwnObjectsTest(UploadWorkflowTest):
    """Only the service project's workflows and executions are its own.

    Mistral lists an admin every project's objects; a user may name a
    workflow after an operator hook's or a stack's.
    """

    def test_hook_input_is_read_from_the_services_own_workflow(self):
        service = self.service(exists=True, project_id='service',
                               others=[('squat-id', 'demo', ''),
                                       ('traversal-id', 'service', 't1')])
        service._client.workflows.get.return_value = mock.Mock(
            interface={'input': ['resource', {'note': None}]})
        self.assertEqual(['resource', {'note': None}],
                         service.workflow_input('wf'))
        service._client.workflows.get.assert_called_once_with('own-id')

    def test_only_another_projects_workflow_counts_as_missing(self):
        service = self.service(exists=False, project_id='service',
                               others=[('squat-id', 'demo', '')])
        self.assertIsNone(service.workflow_input('wf'))
        service._client.workflows.get.assert_not_called()

    def test_without_keystone_every_workflow_is_own(self):
        service = self.service(exists=False, others=[('any-id', None, '')])
        service._client.workflows.get.return_value = mock.Mock(
            interface='{"input": ["resource"]}')
        self.assertEqual(['resource'], service.workflow_input('wf'))
        service._client.workflows.get.assert_called_once_with('any-id')

    def test_other_projects_executions_are_never_stopped_or_judged(self):
        service = self.service(exists=True, project_id='service')
        executions = [
            mock.Mock(id='own', project_id='service', state='RUNNING',
                      workflow_name='heat_stack_x', input='{}'),
            mock.Mock(id='squat', project_id='demo', state='RUNNING',
                      workflow_name='heat_stack_x', input='{}')]
        service._client.executions.list.return_value = executions
        self.assertEqual(['own'], [
            e.id for e in service.running_executions('heat_stack_x')])
        self.assertEqual(['own'], [
            e.id for e in service.executions_of('heat_stack_x')])
        self.assertEqual(['own'], [
            e.id for e in service.stack_executions(states=('RUNNING',))])


class ErrorOnlyToTheNodesActionTest(FakeApiTestCase):
    """An error goes through the API only to the node's own action."""

    def setUp(self):
        super().setUp()
        self.get = self.service._client.action_executions.get
        self.get.return_value = self.action()

    @staticmethod
    def action(**changes):
        fields = dict(
            id='a1', name='heat.run_node', task_execution_id='task-1',
            workflow_name='heat_stack_s1', workflow_namespace='t1',
            project_id='<default-project>',
            input=json.dumps({'stack_id': 's1', 'traversal': 't1',
                              'resource_id': 4, 'is_update': True,
                              'token': 't', 'data': {}}))
        fields.update(changes)
        return types.SimpleNamespace(**fields)

    def report(self):
        return self.service.complete_action('a1', error='Refused by Heat',
                                            node=REQUEST)

    def test_the_node_s_own_action_execution_gets_the_error(self):
        self.report()
        self.get.assert_called_once_with('a1')
        self.update.assert_called_once()

    def test_any_other_action_execution_gets_nothing(self):
        others = {
            'ad-hoc': dict(task_execution_id=None, workflow_name=None,
                           workflow_namespace=None),
            'another action': dict(name='std.echo'),
            'another stack': dict(workflow_name='heat_stack_s2'),
            'another traversal': dict(workflow_namespace='t0'),
            'a user workflow': dict(workflow_name='my_workflow',
                                    workflow_namespace=''),
            'another node': dict(input=json.dumps({
                'stack_id': 's1', 'traversal': 't1', 'resource_id': 5,
                'is_update': True})),
            'no input': dict(input=None),
        }
        for what, changes in others.items():
            self.get.return_value = self.action(**changes)
            exc = self.assertRaises(mistral_client.NotTheNodesAction,
                                    self.report)
            self.assertIn('action execution a1 is not the one of resource 4 '
                          '(create/update) of stack s1 traversal t1', str(exc))
        self.update.assert_not_called()

    def test_another_project_s_action_execution_gets_nothing(self):
        # With Keystone, the service account may see other projects'.
        self.service._project_id = 'service-project'
        self.get.return_value = self.action(project_id='tenant')
        self.assertRaises(mistral_client.NotTheNodesAction, self.report)
        self.get.return_value = self.action(project_id='service-project')
        self.report()
        self.update.assert_called_once()

    def test_an_action_execution_mistral_does_not_know_gets_nothing(self):
        missing = Exception('ActionExecution not found [id=a1]')
        missing.error_code = 404
        self.get.side_effect = missing
        self.assertRaises(mistral_client.MistralUnavailable, self.report)
        self.update.assert_not_called()

    def test_the_check_is_retried_while_mistral_cannot_be_reached(self):
        self.get.side_effect = [ConnectionRefusedError('refused'),
                                self.action()]
        with mock.patch.object(mistral_client.time, 'sleep'):
            self.report()
        self.assertEqual(2, self.get.call_count)
        self.update.assert_called_once()

    def test_a_success_is_sent_without_the_check(self):
        # Its receipt is sealed for the node: no other node opens it.
        self.service.complete_action('a1', output={'node': 'r'},
                                     node=REQUEST)
        self.get.assert_not_called()
        self.update.assert_called_once()

    def test_a_success_given_without_running_is_checked_first(self):
        # A node of a completed traversal answered as done: the answer
        # goes only to the node's own action execution.
        self.get.return_value = self.action(workflow_namespace='t0')
        self.assertRaises(
            mistral_client.NotTheNodesAction, self.service.complete_action,
            'a1', output={'node': 'r'}, node=REQUEST, check_success=True)
        self.update.assert_not_called()
        self.get.return_value = self.action()
        self.service.complete_action('a1', output={'node': 'r'},
                                     node=REQUEST, check_success=True)
        self.update.assert_called_once()


class FailedListingsTest(FakeApiTestCase):
    """What the failure watch asks Mistral, and what it keeps."""

    def test_failed_tasks_and_executions_since_a_time(self):
        service = self.service
        service._project_id = 'service'
        client = service._client
        found = [mock.Mock(id='own', project_id='service',
                           workflow_name='heat_stack_s1'),
                 mock.Mock(id='squat', project_id='demo',
                           workflow_name='heat_stack_s1'),
                 # The LIKE's '_' matches any character.
                 mock.Mock(id='like', project_id='service',
                           workflow_name='heatXstackXs1'),
                 mock.Mock(id='none', project_id='service',
                           workflow_name=None)]
        client.tasks.list.return_value = found
        client.executions.list.return_value = found
        since = datetime.datetime(2026, 12, 7, 11, 59, 0, 123456)
        self.assertEqual(['own'], [
            t.id for t in service.failed_stack_tasks(since)])
        self.assertEqual(['own'], [
            e.id for e in service.failed_stack_executions(since)])
        for listing in (client.tasks.list, client.executions.list):
            kwargs = listing.call_args.kwargs
            self.assertEqual('ERROR', kwargs['state'])
            self.assertEqual('gte:2026-12-07 11:59:00',
                             kwargs['updated_at'])
            self.assertEqual('has:heat_stack_', kwargs['workflow_name'])
            # project_id for _own; never the input (the sealed token).
            self.assertIn('project_id', kwargs['fields'])
            self.assertIn('workflow_namespace', kwargs['fields'])
            self.assertNotIn('input', kwargs['fields'])

    def test_tasks_of_one_execution(self):
        service = self.service
        service.execution_tasks('ex-1', state='SUCCESS', name_has='__failed')
        service._client.tasks.list.assert_called_once_with(
            workflow_execution_id='ex-1', limit=-1,
            fields=['name', 'state', 'state_info'], state='SUCCESS',
            name='has:__failed')

    def test_a_failed_listing_names_mistral(self):
        service = self.service
        service._client.tasks.list.side_effect = RuntimeError('503')
        exc = self.assertRaises(
            mistral_client.MistralUnavailable,
            service.failed_stack_tasks, datetime.datetime(2026, 1, 1))
        self.assertIn('Mistral failed to list failed tasks', str(exc))
        self.assertNotIn('127.0.0.1', str(exc))
        self.assertIn('Mistral at http://127.0.0.1:1/v2 failed to list '
                      'failed tasks', exc.detail)
