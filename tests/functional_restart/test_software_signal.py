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

"""HEAT_SIGNAL software deployments on the real cloud in Keystone mode.

A deployment with ``signal_transport: HEAT_SIGNAL`` waits until the agent
on its server signals it through Heat's API with credentials Heat made
for it: a user in Heat's stack user domain, in a project of the stack.
Only a real Keystone has such users (the fake one of the default mode
cannot authorise the signal: heat-engine's stored context needs Keystone),
so the class restarts the cloud once into Keystone mode
(keystone_cloud.KeystoneMode), whose heat.conf sets the stack user domain.

The server is an ``OS::Heat::DeployedServer`` (a server Heat does not
create: no Nova). ``Agent`` does what os-collect-config and
heat-config-notify do on a real server: it reads the server's metadata
with the server's own credentials (``os_collect_config``,
POLL_SERVER_HEAT) and signals each deployment with the credentials in
that deployment's inputs. The template (software_signal.yaml) has a
SoftwareDeployment, a SoftwareDeploymentGroup (a nested stack) and a
StructuredDeployment fed by the first deployment's signalled output; a
stack update deploys the first and the structured one again.

The tests hold for native Heat too: run them on a cloud started with
DEVCLOUD_PLUGIN=0 and the Mistral checks become "no execution at all".
"""

import calendar
import json
import os
import time

from heatclient import client as heat_client
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
import testtools

from tests.functional import base
from tests.functional_restart import keystone_cloud

TEMPLATE = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                        'functional', 'templates', 'software_signal.yaml')
# Seconds the deployments are left unsignalled, to see that they wait.
HOLD = 10
FAILED_REASON = ('Resource CREATE failed: Error: resources.deployment: '
                 'Deployment to server failed: deploy_status_code : '
                 'Deployment exited with non-zero status code: 1')


def session_as(user_id, password, project_id, auth_url):
    """A new session of a user given by id, as the agents log in."""
    return ks_session.Session(auth=v3.Password(
        auth_url=auth_url, user_id=user_id, password=password,
        project_id=project_id))


def heat_as(*credentials):
    return heat_client.Client('1', session=session_as(*credentials),
                              service_type='orchestration')


class Agent:
    """The in-instance agent of one DeployedServer.

    ``collect`` is os-collect-config's heat collector (the server's
    resource metadata, read as the server's user); ``signal`` is
    heat-config-notify for HEAT_SIGNAL (a resource signal sent as the
    deployment's user, to the stack and resource named in its inputs).
    """

    def __init__(self, os_collect_config):
        self.config = os_collect_config['heat']
        self.heat = heat_as(self.config['user_id'], self.config['password'],
                            self.config['project_id'],
                            self.config['auth_url'])
        # {deploy_resource_name: credentials} of the signals sent.
        self.credentials = {}

    def collect(self):
        """{deploy_resource_name: {input name: value}} of the metadata."""
        metadata = self.heat.resources.metadata(self.config['stack_id'],
                                                self.config['resource_name'])
        found = {}
        for deployment in metadata.get('deployments', []):
            inputs = {i['name']: i.get('value')
                      for i in deployment['inputs']}
            found[inputs['deploy_resource_name']] = inputs
        return found

    def signal(self, inputs, status_code=0):
        """Report the config as run: stdout names the greeting."""
        credentials = (inputs['deploy_user_id'], inputs['deploy_password'],
                       inputs['deploy_project_id'], inputs['deploy_auth_url'])
        self.credentials[inputs['deploy_resource_name']] = credentials
        heat_as(*credentials).resources.signal(
            inputs['deploy_stack_id'], inputs['deploy_resource_name'],
            data={'deploy_stdout': 'said %s' % inputs['greeting'],
                  'deploy_stderr': '', 'deploy_status_code': status_code,
                  'result': 'r-%s' % inputs['greeting']})


def mistral_time(text):
    """Seconds since the epoch of Mistral's UTC 'YYYY-MM-DD HH:MM:SS'."""
    return calendar.timegm(time.strptime(text[:19], '%Y-%m-%d %H:%M:%S'))


class SoftwareSignalTest(testtools.TestCase):
    """Deployments wait for the agent's signal, then complete or fail."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mode = keystone_cloud.KeystoneMode()
        cls.mode.setUp()
        try:
            cls.accounts = keystone_cloud.accounts()
            cls.owner = cls.accounts['demo-a']
            cls.service = cls.accounts['heat']
            cls.plugin = base.cloud_conf('heat.conf').getboolean(
                'mistral_scheduler', 'enabled')
            cls.stack_ids = []
        except BaseException:
            cls.mode.cleanUp()
            raise

    @classmethod
    def tearDownClass(cls):
        # Only a cloud in Keystone mode can delete these stacks.
        try:
            # Set after the owner; absent if setUpClass failed first.
            if getattr(cls, 'stack_ids', None):
                cls.owner.delete_stacks(cls.stack_ids)
        finally:
            cls.mode.cleanUp()
            super().tearDownClass()

    # -- helpers ----------------------------------------------------------
    def create(self):
        """demo-a creates the stack with the CLI; returns (id, Agent)."""
        proc = self.owner.openstack(
            'stack', 'create', '-t', TEMPLATE, '-f', 'json',
            'sw-%s' % os.urandom(3).hex())
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        stack_id = json.loads(proc.stdout)['id']
        self.stack_ids.append(stack_id)
        heat = self.owner.heat()
        server = self.wait(lambda: self.complete_server(heat, stack_id),
                           'server of %s' % stack_id)
        return stack_id, Agent(server.attributes['os_collect_config'])

    @staticmethod
    def complete_server(heat, stack_id):
        server = heat.resources.get(stack_id, 'server')
        return server if server.resource_status == 'CREATE_COMPLETE' \
            else None

    def wait(self, probe, what, timeout=300):
        """probe() until it returns something true; fail on timeout."""
        deadline = time.time() + timeout
        while True:
            found = probe()
            if found:
                return found
            if time.time() > deadline:
                self.fail('timed out waiting for %s' % what)
            time.sleep(1)

    def deployments(self, agent, names, action='CREATE'):
        """The agent's view once each of ``names`` is there for ``action``."""
        def ready(seen):
            return all(seen.get(name, {}).get('deploy_action') == action
                       for name in names)
        return self.wait(
            lambda: (lambda seen: seen if ready(seen) else None)(
                agent.collect()),
            'deployments %s to %s in the server metadata'
            % (sorted(names), action))

    def settled(self, stack_id):
        heat = self.owner.heat()
        return self.wait(
            lambda: (lambda s: None if s.stack_status.endswith(
                'IN_PROGRESS') else s)(heat.stacks.get(stack_id)),
            'stack %s to settle' % stack_id)

    def statuses(self, stack_id):
        return {r.resource_name: r.resource_status for r in
                self.owner.heat().resources.list(stack_id, nested_depth=1)}

    def executions(self, stack_id):
        """The service project's executions of the stack's workflow."""
        return [e for e in self.service.mistral().executions.list(
            workflow_name='heat_stack_%s' % stack_id, limit=-1)
            if e.project_id == self.service.project_id]

    def create_tasks(self, stack_id, action='CREATE'):
        """(execution, {task name: task}) of the stack's ``action``."""
        (execution,) = [e for e in self.executions(stack_id)
                        if ') %s, traversal ' % action in e.description]
        tasks = self.service.mistral().tasks.list(
            workflow_execution_id=execution.id, limit=-1)
        return execution, {t.name: t for t in tasks}

    def assert_no_executions(self, stack_id):
        self.assertEqual([], self.executions(stack_id))

    def assert_agent_users_deleted(self, agent):
        """Heat deleted the users it made for the signals."""
        self.assertTrue(agent.credentials)
        for name, credentials in agent.credentials.items():
            self.assertRaises(ks_exceptions.Unauthorized,
                              session_as(*credentials).get_token)

    # -- tests ------------------------------------------------------------
    def test_deployments_complete_when_the_agent_signals(self):
        # Create, then update: each deployment waits for its signal.
        stack_id, agent = self.create()
        seen = self.deployments(agent, {'deployment', 'one'})
        # structured needs deployment's signalled output: not deployed yet.
        self.assertNotIn('structured', seen)
        self.assertEqual('HEAT_SIGNAL',
                         seen['deployment']['deploy_signal_transport'])

        # Unsignalled, nothing completes.
        time.sleep(HOLD)
        statuses = self.statuses(stack_id)
        for name in ('deployment', 'group', 'one'):
            self.assertEqual('CREATE_IN_PROGRESS', statuses[name], name)
        self.assertEqual('INIT_COMPLETE', statuses['structured'])
        self.assertEqual('CREATE_IN_PROGRESS', self.owner.heat().stacks.get(
            stack_id).stack_status)
        if self.plugin:
            _, tasks = self.create_tasks(stack_id)
            for name in ('deployment', 'group'):
                self.assertEqual('RUNNING', tasks[name].state, name)
            # Mistral made structured's task when structured_config
            # ended; it waits for its join on deployment.
            self.assertEqual('WAITING', tasks['structured'].state)

        signalled_at = time.time()
        agent.signal(seen['one'])
        agent.signal(seen['deployment'])
        seen = self.deployments(agent, {'structured'})
        # deployment's output, through Mistral to structured's input.
        self.assertEqual('r-hello', seen['structured']['greeting'])
        agent.signal(seen['structured'])

        stack = self.settled(stack_id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        outputs = {o['output_key']: o['output_value'] for o in stack.outputs}
        self.assertEqual('said hello, said group, said r-hello',
                         outputs['after'])
        self.assertEqual('r-hello', outputs['result'])
        reasons = [e.resource_status_reason for e in
                   self.owner.heat().events.list(
                       stack_id, resource_name='deployment')
                   if e.resource_status == 'SIGNAL_IN_PROGRESS']
        self.assertEqual(1, len(reasons), reasons)
        self.assertIn('succeeded', reasons[0])

        if self.plugin:
            # The deployments' tasks ended only after the signal (Mistral
            # has one-second timestamps), the nested stack's one too.
            execution, tasks = self.create_tasks(stack_id)
            self.assertEqual('SUCCESS', execution.state, execution.state_info)
            for name in ('deployment', 'group', 'structured'):
                self.assertEqual('SUCCESS', tasks[name].state, name)
                self.assertGreaterEqual(
                    mistral_time(tasks[name].finished_at),
                    int(signalled_at), name)
            self.assertLessEqual(tasks['deployment'].finished_at,
                                 tasks['structured'].started_at)
            group_id = self.owner.heat().resources.get(
                stack_id, 'group').physical_resource_id
            nested, nested_tasks = self.create_tasks(group_id)
            self.assertEqual('SUCCESS', nested.state, nested.state_info)
            self.assertGreaterEqual(
                mistral_time(nested_tasks['one'].finished_at),
                int(signalled_at))
        else:
            self.assert_no_executions(stack_id)

        # An update deploys again (UPDATE is in the default actions) what
        # the new greeting changes: deployment, then structured.
        proc = self.owner.openstack('stack', 'update', '--existing',
                                    '--parameter', 'greeting=again',
                                    stack_id)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        seen = self.deployments(agent, {'deployment'}, 'UPDATE')
        self.assertEqual('again', seen['deployment']['greeting'])
        self.assertEqual('UPDATE_IN_PROGRESS',
                         self.statuses(stack_id)['deployment'])
        if self.plugin:
            _, tasks = self.create_tasks(stack_id, 'UPDATE')
            self.assertEqual('RUNNING', tasks['deployment'].state)
        signalled_at = time.time()
        agent.signal(seen['deployment'])
        seen = self.deployments(agent, {'structured'}, 'UPDATE')
        self.assertEqual('r-again', seen['structured']['greeting'])
        agent.signal(seen['structured'])
        time.sleep(2)   # Heat marked the stack UPDATE_IN_PROGRESS already
        stack = self.settled(stack_id)
        self.assertEqual('UPDATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        outputs = {o['output_key']: o['output_value'] for o in stack.outputs}
        self.assertEqual('said again, said group, said r-again',
                         outputs['after'])
        if self.plugin:
            execution, tasks = self.create_tasks(stack_id, 'UPDATE')
            self.assertEqual('SUCCESS', execution.state, execution.state_info)
            for name in ('deployment', 'structured'):
                self.assertEqual('SUCCESS', tasks[name].state, name)
                self.assertGreaterEqual(
                    mistral_time(tasks[name].finished_at),
                    int(signalled_at), name)

        proc = self.owner.openstack('stack', 'delete', '--yes', '--wait',
                                    stack_id)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assert_agent_users_deleted(agent)

    def test_non_zero_status_code_fails_the_deployment(self):
        stack_id, agent = self.create()
        seen = self.deployments(agent, {'deployment', 'one'})
        agent.signal(seen['one'])
        # The group done first: nothing else runs when deployment fails.
        self.wait(lambda: self.statuses(stack_id)['group'] ==
                  'CREATE_COMPLETE', 'group of %s' % stack_id)
        signalled_at = time.time()
        agent.signal(seen['deployment'], status_code=1)

        stack = self.settled(stack_id)
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertEqual(FAILED_REASON, stack.stack_status_reason)
        statuses = self.statuses(stack_id)
        self.assertEqual('CREATE_FAILED', statuses['deployment'])
        self.assertEqual('CREATE_COMPLETE', statuses['group'])
        self.assertEqual('INIT_COMPLETE', statuses['structured'])
        self.assertNotIn('structured', agent.collect())
        if self.plugin:
            execution, tasks = self.create_tasks(stack_id)
            execution = self.wait(
                lambda: (lambda e: e if e.state not in ('RUNNING', 'IDLE')
                         else None)(self.service.mistral().executions.get(
                             execution.id)),
                'execution %s to end' % execution.id, timeout=60)
            self.assertEqual('ERROR', execution.state)
            _, tasks = self.create_tasks(stack_id)
            self.assertEqual('ERROR', tasks['deployment'].state)
            self.assertIn(FAILED_REASON, tasks['deployment'].state_info)
            self.assertGreaterEqual(
                mistral_time(tasks['deployment'].finished_at),
                int(signalled_at))
            # Never run: no action execution. Mistral fails the joins
            # waiting on deployment ("Failed by tasks"), maybe only after
            # it ended the execution.
            for name in ('structured', 'after'):
                self.assertIn(tasks[name].state, ('WAITING', 'ERROR'), name)
                self.assertEqual([], self.service.mistral().action_executions
                                 .list(tasks[name].id), name)
        else:
            self.assert_no_executions(stack_id)

        proc = self.owner.openstack('stack', 'delete', '--yes', '--wait',
                                    stack_id)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assert_agent_users_deleted(agent)
