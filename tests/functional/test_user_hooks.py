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

"""OS::Mistral::Hook on the real cloud: the user's workflow as a resource.

Each test uploads its own small workflows (unique names, deleted after the
test) with the Mistral client, then creates stacks with the CLI.
"""

import datetime
import os
import tempfile
import uuid

from heatclient import exc as heat_exc
import yaml

from tests.functional import base

ECHO = '''
version: "2.0"
%(name)s:
  input:
    - name
    - suffix: "-hooked"
  output:
    greeting: "{{ _.greeting }}"
    info:
      who: "{{ _.name }}"
  tasks:
    greet:
      action: std.echo
      input:
        output: "{{ _.name ~ _.suffix }}"
      publish:
        greeting: "{{ task().result }}"
'''

FAIL = '''
version: "2.0"
%(name)s:
  input:
    - name
  tasks:
    check:
      action: std.noop
      on-success:
        - fail(msg="quota of widgets exceeded")
'''

SLEEP = '''
version: "2.0"
%(name)s:
  tasks:
    nap:
      action: std.sleep
      input:
        seconds: 60
'''


def two_tier(workflow, **hook_props):
    """first -> hook (input from first) -> second (value from hook)."""
    props = {'workflow': workflow,
             'input': {'name': {'get_attr': ['first', 'output']}}}
    props.update(hook_props)
    return {
        'heat_template_version': '2021-04-16',
        'resources': {
            'first': {'type': 'OS::Heat::TestResource',
                      'properties': {'value': 'alice',
                                     'action_wait_secs': {'create': 1}}},
            'hook': {'type': 'OS::Mistral::Hook', 'properties': props},
            'second': {'type': 'OS::Heat::TestResource',
                       'properties': {'value': {
                           'get_attr': ['hook', 'output', 'greeting']}}},
        },
        'outputs': {
            'second': {'value': {'get_attr': ['second', 'output']}},
            'who': {'value': {'get_attr': ['hook', 'output', 'info',
                                           'who']}},
            'execution': {'value': {'get_attr': ['hook', 'execution_id']}},
        },
    }


def mistral_time(text):
    return datetime.datetime.strptime(text[:19], '%Y-%m-%d %H:%M:%S')


def heat_time(text):
    return datetime.datetime.strptime(text[:19], '%Y-%m-%dT%H:%M:%S')


class UserHookTest(base.FunctionalTest):

    def upload(self, definition):
        """Create a workflow from ``definition % {'name': ...}``."""
        name = 'hk_%s' % uuid.uuid4().hex[:10]
        self.mistral.workflows.create(definition % {'name': name})
        self.addCleanup(self.mistral.workflows.delete, name)
        return name

    def template_file(self, template):
        with tempfile.NamedTemporaryFile('w', suffix='.yaml',
                                         delete=False) as f:
            yaml.safe_dump(template, f)
        self.addCleanup(os.unlink, f.name)
        return f.name

    def hook_executions(self, workflow):
        return self.mistral.executions.list(workflow_name=workflow,
                                            limit=-1)

    def event_time(self, stack_id, name, status):
        for event in self.heat.events.list(stack_id, resource_name=name):
            if event.resource_status == status:
                return heat_time(event.event_time)
        self.fail('%s never reached %s' % (name, status))

    def test_type_is_listed(self):
        types = base.openstack('orchestration', 'resource', 'type', 'list')
        self.assertIn('OS::Mistral::Hook',
                      [t['Resource Type'] for t in types])

    def test_data_in_and_out_and_ordering(self):
        workflow = self.upload(ECHO)
        stack = self.create_stack(self.template_file(two_tier(workflow)))
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        outputs = self.outputs(stack.id)
        # In from first's get_attr, out through an attribute path.
        self.assertEqual('alice-hooked', outputs['second'])
        self.assertEqual('alice', outputs['who'])
        execution = self.mistral.executions.get(outputs['execution'])
        self.assertEqual(workflow, execution.workflow_name)
        self.assertEqual('SUCCESS', execution.state)
        self.assertEqual({'name': 'alice', 'suffix': '-hooked'},
                         yaml.safe_load(execution.input))
        self.assertIn('Heat hook hook of stack %s (%s) CREATE, traversal'
                      % (stack.stack_name, stack.id), execution.description)
        self.assertEqual(outputs['execution'],
                         self.resources(stack.id)['hook'].physical_resource_id)
        # Ordering: Heat's events, and Mistral's own times.
        self.assert_started_after(self.events(stack.id), 'CREATE',
                                  [('first', 'hook'), ('hook', 'second')])
        self.assertLessEqual(
            self.event_time(stack.id, 'first', 'CREATE_COMPLETE'),
            mistral_time(execution.created_at))
        self.assertLessEqual(
            mistral_time(execution.updated_at),
            self.event_time(stack.id, 'second', 'CREATE_IN_PROGRESS'))
        # The generated workflow ran the hook as one of its tasks, and
        # workflow show links that task to the hook's own execution.
        _execution, tasks = self.assert_tasks_succeeded(
            stack.id, ['first', 'hook', 'second'])
        shown = base.openstack('stack', 'workflow', 'show', stack.id)
        rows = {t['resource']: t for t in shown['tasks']}
        self.assertEqual(
            {'workflow': workflow, 'execution': execution.id,
             'state': 'SUCCESS'}, rows['hook']['hook'])
        self.assertNotIn('hook', rows['first'])
        self.assertIn(shown['traversal'], execution.description)

    def test_failing_workflow_fails_the_stack_with_its_message(self):
        workflow = self.upload(FAIL)
        stack = self.create_stack(self.template_file(two_tier(workflow)))
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertIn('Hook workflow %s failed: quota of widgets exceeded'
                      % workflow, stack.stack_status_reason)
        resources = self.resources(stack.id)
        self.assertEqual('CREATE_FAILED', resources['hook'].resource_status)
        self.assertEqual('INIT_COMPLETE', resources['second'].resource_status)

    def test_failing_workflow_rolls_back_when_asked(self):
        workflow = self.upload(FAIL)
        stack = self.create_stack(self.template_file(two_tier(workflow)),
                                  extra=['--enable-rollback'],
                                  until=base.ROLLED_BACK)
        self.assertEqual('ROLLBACK_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        events = self.events(stack.id)
        self.assertIn(('hook', 'CREATE_FAILED'), events)
        self.assertIn(('first', 'DELETE_COMPLETE'), events)
        self.assertEqual({}, self.resources(stack.id))

    def refused(self, template):
        """Create through heat-api; return the 400's message."""
        name = self.stack_name()
        failed = self.assertRaises(
            heat_exc.HTTPBadRequest, self.heat.stacks.create,
            stack_name=name, template=template)
        self.assertEqual([], list(self.heat.stacks.list(
            filters={'name': name})))
        return str(failed)

    def test_validation_refuses_before_creating_anything(self):
        workflow = self.upload(ECHO)
        before = len(self.hook_executions(workflow))
        message = self.refused(two_tier('hk_no_such_workflow'))
        # Worded as Heat words its own property errors.
        self.assertIn('Property error: : resources.hook.properties.workflow: '
                      ': Mistral workflow hk_no_such_workflow not found',
                      message)
        message = self.refused(two_tier(workflow, input={
            'name': 'x', 'colour': 'red'}))
        self.assertIn('resources.hook.properties.input: : input colour not '
                      'declared by workflow %s' % workflow, message)
        message = self.refused(two_tier(workflow, input={'suffix': '!'}))
        self.assertIn('workflow %s requires input name' % workflow, message)
        message = self.refused(two_tier(workflow, delete_workflow='hk_gone'))
        self.assertIn('Mistral workflow hk_gone not found', message)
        self.assertEqual(before, len(self.hook_executions(workflow)))

    def test_timeout_cancels_the_execution_and_fails_the_stack(self):
        workflow = self.upload(SLEEP)
        template = two_tier(workflow, timeout=3, input={})
        stack = self.create_stack(self.template_file(template))
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertIn('Hook hook timed out: workflow %s did not finish '
                      'within 3 s' % workflow, stack.stack_status_reason)
        executions = self.hook_executions(workflow)
        self.assertEqual(1, len(executions))
        self.assertEqual('CANCELLED', self.wait_for_execution(
            executions[0].id).state)

    def test_delete_runs_the_delete_workflow_only_when_given(self):
        workflow = self.upload(ECHO)
        on_delete = self.upload(ECHO)
        template = two_tier(workflow)
        template['resources']['cleaner'] = {
            'type': 'OS::Mistral::Hook',
            'properties': {'workflow': workflow, 'input': {'name': 'bob'},
                           'delete_workflow': on_delete,
                           'delete_input': {
                               'name': {'get_attr': ['first', 'output']},
                               'suffix': '-gone'}}}
        stack = self.create_stack(self.template_file(template),
                                  cleanup=False)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual(2, len(self.hook_executions(workflow)))
        self.assertEqual([], self.hook_executions(on_delete))
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack.id))
        # Nothing ran for 'hook'; 'cleaner' ran its delete workflow.
        self.assertEqual(2, len(self.hook_executions(workflow)))
        deleted = self.hook_executions(on_delete)
        self.assertEqual(1, len(deleted))
        deleted = self.wait_for_execution(deleted[0].id)
        self.assertEqual('SUCCESS', deleted.state)
        self.assertEqual({'greeting': 'alice-gone', 'info': {'who': 'alice'}},
                         yaml.safe_load(deleted.output))
        self.assertIn('Heat hook cleaner of stack', deleted.description)
        self.assertIn(') DELETE, traversal', deleted.description)

    def test_update_runs_again_only_when_input_changes(self):
        workflow = self.upload(ECHO)
        template = two_tier(workflow)
        stack = self.create_stack(self.template_file(template))
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        # Only the timeout changes: nothing runs.
        template['resources']['hook']['properties']['timeout'] = 60
        self.update_stack(stack.id, template)
        self.assertEqual(1, len(self.hook_executions(workflow)))
        # first's value, hence the hook's input, changes: it runs again.
        template['resources']['first']['properties']['value'] = 'carol'
        self.update_stack(stack.id, template)
        executions = self.hook_executions(workflow)
        self.assertEqual(2, len(executions))
        outputs = self.outputs(stack.id)
        self.assertEqual('carol-hooked', outputs['second'])
        self.assertIn(outputs['execution'], [e.id for e in executions])
        self.assertIn(') UPDATE, traversal', self.mistral.executions.get(
            outputs['execution']).description)

    def update_stack(self, stack_id, template):
        base.openstack('stack', 'update', '--wait', '-t',
                       self.template_file(template), stack_id, parse=False)
        stack = self.heat.stacks.get(stack_id)
        self.assertEqual('UPDATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        return stack

    def test_example_hook_between_tiers(self):
        examples = os.path.join(os.path.dirname(__file__), '..', '..',
                                'examples')
        with open(os.path.join(examples,
                               'hook-between-tiers-workflow.yaml')) as f:
            created = self.mistral.workflows.create(f.read())
        self.addCleanup(self.mistral.workflows.delete, created[0].name)
        stack = self.create_stack(os.path.join(examples,
                                               'hook-between-tiers.yaml'))
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        outputs = self.outputs(stack.id)
        self.assertEqual(['app1 -> mysql://db.internal:3306/app',
                          'app2 -> mysql://db.internal:3306/app'],
                         outputs['apps'])
        self.assert_started_after(
            self.events(stack.id), 'CREATE',
            [('database', 'prepare_database'), ('prepare_database', 'app1'),
             ('prepare_database', 'app2')])

    def test_hidden_parameters_in_the_input_are_told_to_the_user(self):
        workflow = self.upload(ECHO)
        template = two_tier(workflow, input={
            'name': {'get_param': 'db_password'},
            'suffix': {'list_join': ['', ['-', {'get_param': 'plain'}]]}})
        template['parameters'] = {
            'db_password': {'type': 'string', 'hidden': True,
                            'default': 'pw-%s' % uuid.uuid4().hex[:8]},
            'plain': {'type': 'string', 'default': 'visible'}}
        path = self.template_file(template)
        secret = template['parameters']['db_password']['default']
        warning = ('Resource hook: Hidden parameter db_password passed in '
                   'input: Mistral stores the workflow\'s input in clear '
                   'text')
        # Validation: the only place Heat's answer can carry it.
        answer = base.openstack('orchestration', 'template', 'validate',
                                '-t', path)
        self.assertEqual(1, len(answer['Warnings']), answer)
        self.assertIn(warning, answer['Warnings'][0])
        self.assertEqual('true', answer['Parameters']['db_password']['NoEcho'])
        # Create: an event of the hook, before its execution starts.
        stack = self.create_stack(path)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        told = [e for e in self.heat.events.list(stack.id,
                                                 resource_name='hook')
                if 'Hidden parameter' in (e.resource_status_reason or '')]
        self.assertEqual(1, len(told), told)
        self.assertEqual('CREATE_IN_PROGRESS', told[0].resource_status)
        self.assertIn(warning[len('Resource hook: '):],
                      told[0].resource_status_reason)
        # Where the value went, as the warning says: Mistral's execution
        # input, in clear text; Heat itself still hides it.
        execution = self.mistral.executions.get(
            self.outputs(stack.id)['execution'])
        self.assertEqual(secret, yaml.safe_load(execution.input)['name'])
        shown = base.openstack('stack', 'show', stack.id)
        self.assertEqual('******', shown['parameters']['db_password'])
        # A template without hidden input gets no warning.
        plain = self.template_file(two_tier(workflow))
        self.assertNotIn('Warnings', base.openstack(
            'orchestration', 'template', 'validate', '-t', plain))
