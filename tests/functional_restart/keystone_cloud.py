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

"""The local cloud in Keystone mode, and one client set per account.

``tools/devcloud start --keystone`` runs a real Keystone in front of Heat
and Mistral and makes these accounts (``$DEVCLOUD_DIR/accounts.json``):

* ``demo-a``, ``demo-b``: one member user in each of two ordinary
  projects of the same names;
* ``heat``: the service user in project ``service``, the account
  heat-mistral-engine's ``[mistral_scheduler]`` uses, which owns the
  generated workflows and their executions;
* ``mistral``, ``admin``.

``KeystoneMode`` restarts the cloud into that mode and back to the mode it
found; ``accounts()`` gives an ``Account`` per name, with Heat and Mistral
clients, raw requests (to see status codes) and the ``openstack`` CLI as
that user. Meant for every test of project isolation (issue 9, and the
hook isolation tests of issue 5): a restart costs about a minute each
way, so keep such tests in one class that enters the mode once
(see test_isolation.IsolationTest).
"""

import json
import os
import subprocess

import fixtures
from heatclient import client as heat_client
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
from mistralclient.api import client as mistral_client

from tests.functional_restart import faults

ORCHESTRATION = 'orchestration'
WORKFLOW = 'workflowv2'
# Variables of the default mode's openrc that would override a password
# login in the CLI.
NOAUTH_VARS = ('OS_AUTH_TYPE', 'OS_ENDPOINT', 'OS_TOKEN', 'OS_CLOUD',
               'OS_ORCHESTRATION_ENDPOINT_OVERRIDE',
               'OS_WORKFLOWV2_ENDPOINT_OVERRIDE', 'OS_PROJECT_ID')


def running_mode():
    """'keystone' or 'noauth': the mode the cloud was last started in."""
    try:
        with open(faults.dc_path('pids', 'mode')) as f:
            return f.read().strip() or 'noauth'
    except FileNotFoundError:
        return 'noauth'


class KeystoneMode(fixtures.Fixture):
    """Restart the cloud in Keystone mode; restore the earlier mode after.

    Nothing is restarted when the cloud already runs in Keystone mode.
    """

    def _setUp(self):
        self.previous = running_mode()
        if self.previous != 'keystone':
            self.addCleanup(faults.devcloud, 'restart', '--no-keystone')
            faults.devcloud('restart', '--keystone')


def accounts():
    """{name: Account} of the cloud's accounts.json (Keystone mode)."""
    with open(faults.dc_path('accounts.json')) as f:
        return {name: Account(name, data)
                for name, data in json.load(f).items()}


class Account:
    """One Keystone user, scoped to its project: clients and raw calls."""

    def __init__(self, name, data):
        self.name = name
        self.data = data
        self.session = ks_session.Session(auth=v3.Password(
            auth_url=data['auth_url'], username=data['username'],
            password=data['password'], project_name=data['project_name'],
            user_domain_name=data['user_domain_name'],
            project_domain_name=data['project_domain_name']))

    @property
    def project_id(self):
        return self.session.get_project_id()

    def endpoint(self, service_type):
        return self.session.get_endpoint(service_type=service_type,
                                         interface='public')

    def heat(self):
        return heat_client.Client('1', session=self.session,
                                  service_type=ORCHESTRATION)

    def mistral(self):
        return mistral_client.client(session=self.session,
                                     mistral_url=self.endpoint(WORKFLOW))

    def request(self, service_type, method, path, **kwargs):
        """``method`` on the service's endpoint + path, never raising.

        ``path`` may also be a full URL (another project's Heat URL).
        Returns the keystoneauth response: look at ``status_code``.
        """
        url = path if '://' in path else self.endpoint(service_type) + path
        return self.session.request(url, method, raise_exc=False, **kwargs)

    def env(self):
        """os.environ for the ``openstack`` CLI to log in as this user."""
        env = {k: v for k, v in os.environ.items() if k not in NOAUTH_VARS}
        env.update({
            'OS_AUTH_TYPE': 'password',
            'OS_AUTH_URL': self.data['auth_url'],
            'OS_IDENTITY_API_VERSION': '3',
            'OS_USERNAME': self.data['username'],
            'OS_PASSWORD': self.data['password'],
            'OS_PROJECT_NAME': self.data['project_name'],
            'OS_USER_DOMAIN_NAME': self.data['user_domain_name'],
            'OS_PROJECT_DOMAIN_NAME': self.data['project_domain_name'],
            'OS_REGION_NAME': 'RegionOne'})
        return env

    def openstack(self, *args, timeout=600):
        """Run the CLI as this user; returns the CompletedProcess."""
        cli = os.path.join(os.environ['DEVCLOUD_DIR'], 'venv', 'bin',
                           'openstack')
        return subprocess.run([cli] + list(args), capture_output=True,
                              text=True, timeout=timeout, env=self.env())

    def delete_own_workflows(self, name):
        """Delete this project's Mistral workflows called ``name``.

        A run killed midway leaves its workflows behind, and the cloud's
        databases outlive it: a test that creates a workflow by name clears
        the name first. Mistral lists an admin every project's workflows;
        only this project's are deleted.
        """
        found = self.request('workflowv2', 'GET', '/workflows?name=%s' % name)
        for wf in found.json().get('workflows', []):
            if wf.get('project_id') == self.project_id:
                self.request('workflowv2', 'DELETE',
                             '/workflows/%s' % wf['id'])

    def delete_stacks(self, stack_ids):
        """Delete this user's stacks with the CLI, waiting for each.

        For a class's tearDownClass, while the cloud is still in Keystone
        mode: only then can these stacks be deleted.
        """
        for stack_id in stack_ids:
            self.openstack('stack', 'delete', '--yes', '--wait', stack_id)
