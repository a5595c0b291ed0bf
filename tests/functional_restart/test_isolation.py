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

"""Project isolation on the real cloud in Keystone mode (issue 9).

The class restarts the cloud once into Keystone mode (keystone_cloud) and
back. User ``demo-a`` creates a stack through the plugin; its generated
workflow, executions and action executions belong to the service project
(doc/source/security.rst, "Which Mistral project owns the workflows").
Then user ``demo-b`` of another project, and ``demo-a`` itself, attack
them through Mistral's and Heat's APIs: every attempt must be refused and
leave the stack as it was. A stack owner sees the stack in Heat only:
nothing of its workflow in Mistral, what heat-api's workflow view shows
(``openstack stack workflow show``, tested in workflow_view_checks).
"""

import json
import os
import time

import fixtures
import testtools
import yaml

from tests.functional import test_user_hooks
from tests.functional_restart import faults
from tests.functional_restart import heat_action_attacks
from tests.functional_restart import keystone_cloud
from tests.functional_restart import test_operator_hooks
from tests.functional_restart import workflow_view_checks

TEMPLATE = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                        'functional', 'templates', 'slow_chain.yaml')
RESOURCES = ('first', 'slow', 'after')
# Mistral answers 404 for objects of another project (it filters every
# query by the token's project); 403 would do as well. Anything else,
# 2xx above all, is a hole.
REFUSED = (403, 404)
ENDED = ('SUCCESS', 'ERROR', 'CANCELLED')
# Operator hooks (issue 5) are on for the whole class: the functional
# tests' hooks file selects resources by name prefixes that only its own
# templates use, so the other stacks here have no hooks.
HOOKS_OVERLAY = '91-isolation-operator-hooks.conf'


class IsolationTest(heat_action_attacks.HeatActionAttacks,
                    workflow_view_checks.WorkflowViewChecks,
                    testtools.TestCase):
    """Attacks by other projects and by the stack's owner; all refused.

    The heat.* actions run by a tenant: ``heat_action_attacks``. Also what
    ``openstack stack workflow show`` shows whom (``workflow_view_checks``),
    in the same Keystone mode.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Written before the restart into Keystone mode, which reads it.
        faults.overlay('[mistral_scheduler]\noperator_hooks_file = %s\n'
                       % test_operator_hooks.HOOKS_FILE, HOOKS_OVERLAY)
        cls.mode = keystone_cloud.KeystoneMode()
        cls.mode.setUp()
        try:
            cls.accounts = keystone_cloud.accounts()
            cls.owner = cls.accounts['demo-a']
            cls.other = cls.accounts['demo-b']
            cls.service = cls.accounts['heat']
            cls.stack_ids = []
            cls.stack_id = cls.create('one', 0)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        # Only a cloud in Keystone mode can delete these stacks.
        try:
            # Set after the owner; absent if setUpClass failed first.
            if getattr(cls, 'stack_ids', None):
                cls.owner.delete_stacks(cls.stack_ids)
        finally:
            # Removed before the restart back to the earlier mode.
            faults.overlay(None, HOOKS_OVERLAY)
            cls.mode.cleanUp()
            super().tearDownClass()

    # -- helpers ----------------------------------------------------------
    @classmethod
    def create(cls, value, wait, block=True):
        """demo-a creates a slow_chain stack with the CLI; returns its id.

        With ``block``, returns once the stack left IN_PROGRESS.
        """
        proc = cls.owner.openstack(
            'stack', 'create', '-t', TEMPLATE, '-f', 'json',
            '--parameter', 'value=%s' % value,
            '--parameter', 'wait=%d' % wait,
            'iso-%s' % os.urandom(3).hex())
        if proc.returncode != 0:
            raise AssertionError('stack create as demo-a failed: %s%s'
                                 % (proc.stdout, proc.stderr))
        stack_id = json.loads(proc.stdout)['id']
        cls.stack_ids.append(stack_id)
        if block:
            cls.settled(stack_id)
        return stack_id

    @classmethod
    def settled(cls, stack_id, timeout=300):
        """The stack as demo-a sees it once it left IN_PROGRESS, or None."""
        heat = cls.owner.heat()
        deadline = time.time() + timeout
        while time.time() < deadline:
            stack = heat.stacks.get(stack_id, resolve_outputs=False)
            if not stack.stack_status.endswith('IN_PROGRESS'):
                return stack
            time.sleep(1)
        return None

    def workflow_name(self, stack_id=None):
        return 'heat_stack_%s' % (stack_id or self.stack_id)

    def service_workflow(self, name):
        """The service project's own workflow called ``name``.

        Not a GET by name: the service account holds Mistral's admin role
        here, so Mistral would answer with any project's workflow of that
        name (see create_workflow in heat/clients/mistral_api.py).
        """
        mistral = self.service.mistral()
        (own,) = [w for w in mistral.workflows.list(name=name)
                  if w.project_id == self.service.project_id]
        return mistral.workflows.get(own.id)

    def service_executions(self, stack_id=None):
        """The service project's executions of the stack's workflow.

        Its own only: Mistral lists an admin every project's, and a user
        may run a workflow of the same name (heat_action_attacks).
        """
        found = self.service.mistral().executions.list(
            workflow_name=self.workflow_name(stack_id), limit=-1)
        return [e for e in found
                if e.project_id == self.service.project_id]

    def service_action_executions(self, execution_id):
        mistral = self.service.mistral()
        found = []
        for task in mistral.tasks.list(workflow_execution_id=execution_id,
                                       limit=-1):
            found.extend(mistral.action_executions.list(task.id))
        return found

    def assert_stack_correct(self, stack_id, value, status):
        """Heat shows the stack done with each resource fed by the chain."""
        stack = self.settled(stack_id)
        self.assertIsNotNone(stack, 'stack %s still in progress' % stack_id)
        self.assertEqual(status, stack.stack_status,
                         stack.stack_status_reason)
        heat = self.owner.heat()
        for name in RESOURCES:
            resource = heat.resources.get(stack_id, name)
            self.assertEqual(status, resource.resource_status, name)
            self.assertEqual(value, resource.attributes['output'], name)
        for execution in self.service_executions(stack_id):
            self.assertEqual('SUCCESS', execution.state,
                             execution.state_info)

    def assert_refused(self, account, service_type, method, path, **kwargs):
        answer = account.request(service_type, method, path, **kwargs)
        self.assertIn(answer.status_code, REFUSED,
                      '%s %s %s as %s answered %d: %s' % (
                          service_type, method, path, account.name,
                          answer.status_code, answer.text[:300]))

    def mistral_ids(self, stack_id=None):
        """(workflow id, execution ids, action execution ids) of a stack."""
        workflow = self.service_workflow(self.workflow_name(stack_id))
        executions = [e.id for e in self.service_executions(stack_id)]
        actions = [a.id for e in executions
                   for a in self.service_action_executions(e)]
        return workflow.id, executions, actions

    # -- who owns what ----------------------------------------------------
    def test_service_project_owns_workflow_and_executions(self):
        service_project = self.service.project_id
        workflow = self.service_workflow(self.workflow_name())
        self.assertEqual(service_project, workflow.project_id)
        self.assertEqual('private', workflow.scope)
        executions = self.service_executions()
        self.assertEqual(1, len(executions))
        for execution in executions:
            self.assertEqual(service_project, execution.project_id)
            actions = self.service_action_executions(execution.id)
            self.assertEqual(len(RESOURCES), len(actions))
        self.assertNotEqual(service_project, self.owner.project_id)

    def test_listings_show_nothing_of_the_stack_to_users(self):
        _, executions, actions = self.mistral_ids()
        for account in (self.owner, self.other):
            mistral = account.mistral()
            names = [w.name for w in mistral.workflows.list(limit=-1)]
            self.assertNotIn(self.workflow_name(), names, account.name)
            self.assertFalse([w for w in names if w.startswith('heat_stack_')],
                             account.name)
            seen = {e.id for e in mistral.executions.list(limit=-1)}
            self.assertFalse(seen & set(executions), account.name)
            seen = {a.id for a in mistral.action_executions.list(limit=-1)}
            self.assertFalse(seen & set(actions), account.name)
            # Refused, or an empty list: nothing of another project.
            answer = account.request(
                'workflowv2', 'GET',
                '/tasks?workflow_execution_id=%s' % executions[0])
            if answer.status_code not in REFUSED:
                self.assertEqual(200, answer.status_code, answer.text)
                self.assertEqual([], answer.json()['tasks'], account.name)
        self.assert_stack_correct(self.stack_id, 'one', 'CREATE_COMPLETE')

    # -- Mistral objects by id --------------------------------------------
    def test_users_cannot_read_edit_or_delete_the_workflow(self):
        workflow_id, _, _ = self.mistral_ids()
        before = self.service.mistral().workflows.get(workflow_id)
        definition = before.definition.replace('heat.run_node', 'std.noop')
        for account in (self.owner, self.other):
            for ident in (workflow_id, self.workflow_name()):
                self.assert_refused(account, 'workflowv2', 'GET',
                                    '/workflows/%s' % ident)
                self.assert_refused(account, 'workflowv2', 'DELETE',
                                    '/workflows/%s' % ident)
            # Mistral updates workflows by the name in the definition.
            self.assert_refused(account, 'workflowv2', 'PUT',
                                '/workflows?scope=private', data=definition,
                                headers={'Content-Type': 'text/plain'})
            self.assert_refused(account, 'workflowv2', 'PUT',
                                '/workflows/%s' % workflow_id,
                                data=definition,
                                headers={'Content-Type': 'text/plain'})
            self.assert_refused(account, 'workflowv2', 'POST',
                                '/executions', json={
                                    'workflow_id': workflow_id})
            self.assert_refused(account, 'workflowv2', 'POST',
                                '/executions', json={
                                    'workflow_name': self.workflow_name()})
        after = self.service.mistral().workflows.get(workflow_id)
        self.assertEqual(before.definition, after.definition)
        self.assertEqual(before.updated_at, after.updated_at)
        self.assertEqual(1, len(self.service_executions()))
        self.assert_stack_correct(self.stack_id, 'one', 'CREATE_COMPLETE')

    def test_users_cannot_read_change_or_delete_executions(self):
        _, executions, actions = self.mistral_ids()
        mistral = self.service.mistral()
        tasks = [t.id for t in mistral.tasks.list(
            workflow_execution_id=executions[0], limit=-1)]
        for account in (self.owner, self.other):
            for execution_id in executions:
                path = '/executions/%s' % execution_id
                self.assert_refused(account, 'workflowv2', 'GET', path)
                self.assert_refused(account, 'workflowv2', 'PUT', path,
                                    json={'state': 'CANCELLED'})
                self.assert_refused(account, 'workflowv2', 'PUT', path,
                                    json={'description': 'mine'})
                self.assert_refused(account, 'workflowv2', 'DELETE', path)
            for task_id in tasks:
                path = '/tasks/%s' % task_id
                self.assert_refused(account, 'workflowv2', 'GET', path)
                # A re-run of the task.
                self.assert_refused(account, 'workflowv2', 'PUT', path,
                                    json={'state': 'RUNNING',
                                          'reset': True})
            for action_id in actions:
                path = '/action_executions/%s' % action_id
                self.assert_refused(account, 'workflowv2', 'GET', path)
                self.assert_refused(account, 'workflowv2', 'PUT', path,
                                    json={'state': 'SUCCESS',
                                          'output': '{"node": "forged"}'})
                self.assert_refused(account, 'workflowv2', 'DELETE', path)
        for execution_id in executions:
            execution = mistral.executions.get(execution_id)
            self.assertEqual('SUCCESS', execution.state)
            self.assertNotEqual('mine', execution.description)
        self.assertEqual(sorted(actions), sorted(self.mistral_ids()[2]))
        self.assert_stack_correct(self.stack_id, 'one', 'CREATE_COMPLETE')

    def running_action(self, stack_id, task_prefix='slow', timeout=120):
        """The RUNNING action execution of a task of the stack.

        The first task whose name starts with ``task_prefix``, as the
        service sees it (with its input); fails the test after
        ``timeout`` seconds.
        """
        mistral = self.service.mistral()

        def running():
            for execution in self.service_executions(stack_id):
                for task in mistral.tasks.list(
                        workflow_execution_id=execution.id, limit=-1):
                    if task.name.startswith(task_prefix) and \
                            task.state == 'RUNNING':
                        found = mistral.action_executions.list(task.id)
                        if found:
                            return found[0]
            return None

        deadline = time.time() + timeout
        action = running()
        while action is None and time.time() < deadline:
            time.sleep(1)
            action = running()
        self.assertIsNotNone(action, 'no RUNNING action execution for '
                                     'resource %s of %s'
                                     % (task_prefix, stack_id))
        return action

    def test_users_cannot_complete_a_running_action_execution(self):
        stack_id = self.create('slow', 20, block=False)
        mistral = self.service.mistral()
        action = self.running_action(stack_id)
        path = '/action_executions/%s' % action.id
        for account in (self.owner, self.other):
            self.assert_refused(account, 'workflowv2', 'PUT', path,
                                json={'state': 'SUCCESS',
                                      'output': '{"node": "forged"}'})
            self.assert_refused(account, 'workflowv2', 'PUT', path,
                                json={'state': 'ERROR',
                                      'output': '{"reason": "forged"}'})
        self.assertEqual('RUNNING',
                         mistral.action_executions.get(action.id).state)
        self.assert_stack_correct(stack_id, 'slow', 'CREATE_COMPLETE')

    def test_workflow_of_the_same_name_changes_nothing(self):
        # A user cannot reach the service's workflow, but may make one of
        # the same name in its own project and offer it to the service
        # project. Public workflows, which every project would see, are
        # the admin's (Mistral policy workflows:publicize). The next
        # update must still run the service's own workflow.
        stack_id = self.create('two', 0)
        name = self.workflow_name(stack_id)
        squat = yaml.safe_dump({'version': '2.0', name: {
            'tasks': {'noop': {'action': 'std.noop'}}}})
        headers = {'Content-Type': 'text/plain'}
        self.assert_refused(self.owner, 'workflowv2', 'POST',
                            '/workflows?scope=public', data=squat,
                            headers=headers)
        answer = self.owner.request('workflowv2', 'POST',
                                    '/workflows?scope=private', data=squat,
                                    headers=headers)
        self.assertEqual(201, answer.status_code, answer.text)
        squat_id = answer.json()['workflows'][0]['id']
        self.addCleanup(self.owner.request, 'workflowv2', 'DELETE',
                        '/workflows/%s' % squat_id)
        # Offered, not accepted: the service project does not see it.
        answer = self.owner.request(
            'workflowv2', 'POST', '/workflows/%s/members' % squat_id,
            json={'member_id': self.service.project_id})
        self.assertIn(answer.status_code, (201,) + REFUSED, answer.text)
        proc = self.owner.openstack(
            'stack', 'update', '--existing', '--parameter', 'value=three',
            stack_id)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        time.sleep(2)   # Heat marks the stack UPDATE_IN_PROGRESS first
        self.assert_stack_correct(stack_id, 'three', 'UPDATE_COMPLETE')
        service_project = self.service.project_id
        workflow = self.service_workflow(name)
        self.assertIn('heat.run_node', workflow.definition)
        executions = self.service_executions(stack_id)
        self.assertEqual(2, len(executions))
        for execution in executions:
            self.assertEqual(service_project, execution.project_id)
            self.assertNotEqual(squat_id, execution.workflow_id)
        # Each traversal runs a definition of its own; the update's is the
        # one the service keeps.
        latest = max(executions, key=lambda e: e.created_at)
        self.assertEqual(workflow.id, latest.workflow_id)

    # -- Heat ---------------------------------------------------------------
    def test_other_project_cannot_see_or_act_on_the_stack(self):
        stack = self.owner.heat().stacks.get(self.stack_id)
        path = '/stacks/%s/%s' % (stack.stack_name, self.stack_id)
        theirs = self.owner.endpoint('orchestration') + path
        heat = self.other.heat()
        self.assertNotIn(self.stack_id, [s.id for s in heat.stacks.list()])
        for url in (path, theirs):
            self.assert_refused(self.other, 'orchestration', 'GET', url)
            self.assert_refused(self.other, 'orchestration', 'GET',
                                url + '/resources')
            self.assert_refused(self.other, 'orchestration', 'GET',
                                url + '/events')
            self.assert_refused(self.other, 'orchestration', 'PATCH', url,
                                json={'parameters': {'value': 'evil'}})
            self.assert_refused(self.other, 'orchestration', 'POST',
                                url + '/actions', json={'suspend': None})
            self.assert_refused(self.other, 'orchestration', 'DELETE', url)
        self.assert_refused(self.other, 'orchestration', 'GET',
                            '/stacks/%s' % self.stack_id)
        for args in (('stack', 'show', self.stack_id),
                     ('stack', 'delete', '--yes', self.stack_id)):
            proc = self.other.openstack(*args)
            self.assertNotEqual(0, proc.returncode, ' '.join(args))
        time.sleep(2)   # a delete or update that got through would start
        self.assert_stack_correct(self.stack_id, 'one', 'CREATE_COMPLETE')
        self.assertEqual(1, len(self.service_executions()))

    # -- OS::Mistral::Hook (issue 5) ---------------------------------------
    def test_user_hook_runs_in_the_users_project_only(self):
        name = 'hk_iso_%s' % os.urandom(4).hex()
        owner_mistral = self.owner.mistral()
        owner_mistral.workflows.create(test_user_hooks.ECHO % {'name': name})
        self.addCleanup(owner_mistral.workflows.delete, name)
        template = yaml.safe_dump(test_user_hooks.two_tier(name))
        stack_id = self.create_from(self.owner, template)
        stack = self.settled(stack_id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        outputs = {o['output_key']: o['output_value'] for o in
                   self.owner.heat().stacks.get(stack_id).outputs}
        self.assertEqual('alice-hooked', outputs['second'])
        # The hook's execution is the user's, in the user's project...
        execution = owner_mistral.executions.get(outputs['execution'])
        self.assertEqual(self.owner.project_id, execution.project_id)
        self.assertEqual(name, execution.workflow_name)
        # ...while the stack's own execution stays the service's.
        for own in self.service_executions(stack_id):
            self.assertEqual(self.service.project_id, own.project_id)
        # Another project sees and touches neither the workflow nor the run.
        other = self.other.mistral()
        self.assertNotIn(execution.id,
                         [e.id for e in other.executions.list(limit=-1)])
        self.assertNotIn(name, [w.name for w in other.workflows.list()])
        path = '/executions/%s' % execution.id
        self.assert_refused(self.other, 'workflowv2', 'GET', path)
        self.assert_refused(self.other, 'workflowv2', 'PUT', path,
                            json={'state': 'CANCELLED'})
        self.assert_refused(self.other, 'workflowv2', 'DELETE', path)
        self.assert_refused(self.other, 'workflowv2', 'GET',
                            '/workflows/%s' % name)
        # A hook of another project cannot run this project's workflow:
        # Heat refuses the stack before creating anything.
        for ident in (name, execution.workflow_id):
            proc = self.other.openstack(
                'stack', 'create', '-t', self.template_path(
                    yaml.safe_dump(test_user_hooks.two_tier(ident))),
                'iso-steal-%s' % os.urandom(3).hex())
            self.assertNotEqual(0, proc.returncode, proc.stdout)
            self.assertIn(ident, proc.stderr)
        self.assertEqual('SUCCESS',
                         owner_mistral.executions.get(execution.id).state)
        self.assertEqual(1, len(owner_mistral.executions.list(
            workflow_name=name, limit=-1)))

    # -- operator hooks (issue 5) -----------------------------------------
    def test_operator_hook_runs_as_the_service(self):
        service = self.service.mistral()
        name = test_operator_hooks.WORKFLOW
        self.service.delete_own_workflows(name)
        self.owner.delete_own_workflows(name)
        with open(os.path.join(test_operator_hooks.HOOKS_DIR,
                               name + '.yaml')) as f:
            service.workflows.create(f.read())
        self.addCleanup(service.workflows.delete, name)
        # The stack's owner squats the hook's name in its own project with
        # a workflow that takes no input and fails. The service account is
        # a Mistral admin here, which Mistral answers a GET by name with
        # any project's workflow: neither validation nor the run may
        # take the squatter's.
        squat = yaml.safe_dump({'version': '2.0', name: {
            'tasks': {'squatted': {'action': 'std.fail'}}}})
        answer = self.owner.request('workflowv2', 'POST',
                                    '/workflows?scope=private', data=squat,
                                    headers={'Content-Type': 'text/plain'})
        self.assertEqual(201, answer.status_code, answer.text)
        squat_id = answer.json()['workflows'][0]['id']
        self.addCleanup(self.owner.request, 'workflowv2', 'DELETE',
                        '/workflows/%s' % squat_id)
        with open(test_operator_hooks.HOOKS_DIR + '/data.yaml') as f:
            stack_id = self.create_from(self.owner, f.read())
        stack = self.settled(stack_id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual('hello-hook', self.owner.heat().resources.get(
            stack_id, 'dependent').attributes['output'])
        # The hook ran as a sub-workflow of the stack's service-owned
        # execution, so its execution is the service's too.
        (own,) = self.service_executions(stack_id)
        tasks = {t.name: t for t in service.tasks.list(
            workflow_execution_id=own.id, limit=-1)}
        hook_task = tasks['hooked__after__echo_after']
        self.assertEqual('SUCCESS', hook_task.state)
        runs = [e for e in service.executions.list(workflow_name=name,
                                                   limit=-1)
                if e.task_execution_id == hook_task.id]
        self.assertEqual(1, len(runs))
        self.assertEqual(self.service.project_id, runs[0].project_id)
        hook_workflow = self.service_workflow(name).id
        self.assertEqual(hook_workflow, runs[0].workflow_id)
        self.assertNotIn(squat_id, [
            e.workflow_id for e in service.executions.list(limit=-1)])
        # Neither the stack's owner nor another project sees or touches
        # the operator's workflow or its runs.
        for account in (self.owner, self.other):
            mistral = account.mistral()
            self.assertNotIn(hook_workflow,
                             [w.id for w in mistral.workflows.list()])
            self.assertNotIn(runs[0].id, [
                e.id for e in mistral.executions.list(limit=-1)])
            path = '/executions/%s' % runs[0].id
            self.assert_refused(account, 'workflowv2', 'GET', path)
            self.assert_refused(account, 'workflowv2', 'PUT', path,
                                json={'state': 'CANCELLED'})
            self.assert_refused(account, 'workflowv2', 'DELETE', path)
            self.assert_refused(account, 'workflowv2', 'GET',
                                '/workflows/%s' % hook_workflow)
        # By name, the other project is refused; the owner gets its own.
        self.assert_refused(self.other, 'workflowv2', 'GET',
                            '/workflows/%s' % name)
        self.assertEqual('SUCCESS', service.executions.get(runs[0].id).state)

    def template_path(self, text):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'template.yaml')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def create_from(self, account, template_text):
        """``account`` creates a stack of the template; returns its id."""
        proc = account.openstack(
            'stack', 'create', '-f', 'json', '-t',
            self.template_path(template_text),
            'iso-%s' % os.urandom(3).hex())
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        stack_id = json.loads(proc.stdout)['id']
        self.stack_ids.append(stack_id)
        return stack_id
