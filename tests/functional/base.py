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

"""Functional tests: real heat-api, heat-engine, Mistral, RabbitMQ, MariaDB.

Stacks are created and deleted with the ``openstack`` command line, as a
user would; results are read back through Heat's and Mistral's APIs. The
environment comes from ``.devcloud/openrc`` (OS_ENDPOINT, MISTRAL_URL...).
"""

import base64
import configparser
import json
import os
import subprocess
import tempfile
import time
import urllib.parse
import uuid

from cryptography import fernet
from heatclient import client as heat_client
from keystoneauth1 import session as ks_session
from keystoneauth1 import noauth
from mistralclient.api import client as mistral_client
import pymysql
import testtools
import yaml

TEMPLATES = os.path.join(os.path.dirname(__file__), 'templates')
TERMINAL = ('COMPLETE', 'FAILED')
ROLLED_BACK = ('ROLLBACK_COMPLETE', 'ROLLBACK_FAILED')


def openstack(*args, parse=True, check=True, timeout=600):
    """Run the openstack CLI; return its JSON output (or the process)."""
    cmd = ['openstack'] + list(args)
    if parse:
        cmd += ['-f', 'json']
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (%d): %s%s' % (
            ' '.join(cmd), proc.returncode, proc.stdout, proc.stderr))
    if parse and proc.returncode == 0:
        return json.loads(proc.stdout or 'null')
    return proc


def heat():
    endpoint = os.environ['OS_ENDPOINT']
    session = ks_session.Session(auth=noauth.NoAuth(endpoint=endpoint))
    return heat_client.Client('1', session=session,
                              service_type='orchestration',
                              endpoint_override=endpoint)


def mistral():
    return mistral_client.client(mistral_url=os.environ['MISTRAL_URL'])


def cloud_conf(name):
    """The cloud's ``heat.conf`` or ``mistral.conf``, parsed."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(os.path.join(os.environ['DEVCLOUD_DIR'], 'etc', name))
    return parser


def mistral_db():
    """A connection to the cloud's Mistral database (mistral.conf's)."""
    url = urllib.parse.urlsplit(cloud_conf('mistral.conf')['database'][
        'connection'])
    return pymysql.connect(host=url.hostname, port=url.port or 3306,
                           user=url.username or 'root',
                           password=url.password or '',
                           database=url.path.lstrip('/'), charset='utf8mb4')


def heat_unseal(sealed):
    """The text heat-engine sealed with Heat's ``cryptography_decrypt_v1``.

    Tests know the cloud's auth_encryption_key; Mistral does not. The
    functional environment has clients only, not Heat, so this opens the
    Fernet token as heat.common.crypt defines it (key repeated to 32
    characters when shorter, base64 of its UTF-8) - an independent check
    that what sits in Mistral is exactly that.
    """
    key = cloud_conf('heat.conf')['DEFAULT']['auth_encryption_key']
    if len(key) < 32:
        key = key * 2
    fernet_key = base64.b64encode(key[:32].encode('utf-8'))
    return fernet.Fernet(fernet_key).decrypt(sealed.encode()).decode()


def open_receipt(receipt):
    """The payload heat-engine sealed in a node receipt.

    Returns the dict with the binding (s, t, r, u) and the node data (d).
    """
    return json.loads(heat_unseal(receipt))


class FunctionalTest(testtools.TestCase):
    """Creates stacks through the CLI and checks them through the APIs."""

    def setUp(self):
        super().setUp()
        for var in ('OS_ENDPOINT', 'MISTRAL_URL'):
            if var not in os.environ:
                self.fail('%s is unset: source .devcloud/openrc (tox -e '
                          'functional does)' % var)
        self.heat = heat()
        self.mistral = mistral()

    # -- stacks ---------------------------------------------------------
    def template(self, name):
        return os.path.join(TEMPLATES, name)

    def stack_name(self):
        return 'ft-%s-%s' % (self.id().rsplit('.', 1)[-1][5:25],
                             uuid.uuid4().hex[:6])

    def create_stack(self, template, params=None, wait=True, extra=(),
                     cleanup=True, until=None):
        """``openstack stack create``; returns the stack as Heat shows it."""
        name = self.stack_name()
        args = ['stack', 'create', '-t', template, name]
        for key, value in (params or {}).items():
            args += ['--parameter', '%s=%s' % (key, value)]
        args += list(extra)
        created = openstack(*args)
        if cleanup:
            self.addCleanup(self._delete_quietly, created['id'])
        if wait:
            return self.wait_for_stack(created['id'], until=until)
        return self.heat.stacks.get(created['id'])

    def wait_for_stack(self, stack_id, timeout=300, until=None):
        """Poll until the stack leaves IN_PROGRESS; fail on timeout.

        :param until: statuses to wait for instead, e.g. ROLLED_BACK: a
            stack with rollback enabled shows CREATE_FAILED for a moment
            before its rollback starts, in native Heat too.
        """
        deadline = time.time() + timeout
        while True:
            stack = self.heat.stacks.get(stack_id)
            if (stack.stack_status in until if until
                    else stack.stack_status.endswith(TERMINAL)):
                return stack
            if time.time() > deadline:
                self.fail('stack %s still %s after %d s' % (
                    stack_id, stack.stack_status, timeout))
            time.sleep(1)

    def settle(self, stack_id, action=None, timeout=300, poll=1):
        """The stack once it has left IN_PROGRESS; None once deleted.

        Without ``action``, waits 2 s first: right after a call, Heat may
        not have stored the new action yet. With ``action`` (``'UPDATE'``,
        ...), no wait: the stack once that action has ended. A failed
        update with rollback is UPDATE_FAILED for a moment before Heat
        starts the rollback; ``action='ROLLBACK'`` keeps that moment from
        passing for the result. ``poll``: seconds between two reads.
        """
        if action is None:
            time.sleep(2)
        deadline = time.time() + timeout
        while time.time() < deadline:
            stack = self.heat.stacks.get(stack_id, resolve_outputs=False)
            if stack.stack_status == 'DELETE_COMPLETE':
                return None
            if (not stack.stack_status.endswith('IN_PROGRESS') and
                    (action is None or stack.action == action)):
                return stack
            time.sleep(poll)
        self.fail('stack %s still %s after %d s' % (
            stack_id, stack.stack_status, timeout))

    def delete_stack(self, stack_id):
        """``openstack stack delete --wait``; returns the final status."""
        # --wait exits non-zero when the delete fails; the status says more.
        openstack('stack', 'delete', '--yes', '--wait', stack_id,
                  parse=False, check=False)
        stack = self.heat.stacks.get(stack_id, resolve_outputs=False)
        return stack.stack_status

    def _delete_quietly(self, stack_id):
        try:
            stack = self.heat.stacks.get(stack_id, resolve_outputs=False)
        except Exception:
            return
        if stack.stack_status != 'DELETE_COMPLETE':
            openstack('stack', 'delete', '--yes', '--wait', stack_id,
                      parse=False, check=False)

    def template_file(self, body):
        """``body`` (a template as a dict) in a temporary file: its path."""
        fd, path = tempfile.mkstemp(suffix='.yaml')
        with os.fdopen(fd, 'w') as f:
            yaml.safe_dump(body, f)
        self.addCleanup(os.unlink, path)
        return path

    def running_execution(self, stack_id):
        """The stack's RUNNING execution, once there is one (60 s)."""
        def found():
            running = [e for e in self.executions(stack_id)
                       if e.state == 'RUNNING']
            return running[0] if running else None
        deadline = time.time() + 60
        while time.time() < deadline:
            execution = found()
            if execution:
                return execution
            time.sleep(0.5)
        self.fail('no running execution for %s' % stack_id)

    def wait_resource(self, stack_id, name, status, timeout=120):
        """Poll until resource ``name`` of the stack has ``status``."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.resources(stack_id)[name].resource_status == status:
                return
            time.sleep(1)
        self.fail('%s never reached %s' % (name, status))

    def outputs(self, stack_id):
        stack = self.heat.stacks.get(stack_id)
        return {o['output_key']: o.get('output_value')
                for o in stack.outputs}

    def resources(self, stack_id):
        return {r.resource_name: r
                for r in self.heat.resources.list(stack_id)}

    def events(self, stack_id):
        """Resource events in the order Heat recorded them."""
        events = self.heat.events.list(stack_id, sort_dir='asc',
                                       sort_keys='created_at')
        return [(e.resource_name, e.resource_status) for e in events]

    def assert_started_after(self, events, action, edges):
        """Each (pred, dep): dep's action began after pred's completed."""
        position = {}
        for index, (name, status) in enumerate(events):
            position.setdefault((name, status), index)
        for pred, dep in edges:
            done = position.get((pred, '%s_COMPLETE' % action))
            began = position.get((dep, '%s_IN_PROGRESS' % action))
            self.assertIsNotNone(done, '%s never reached %s_COMPLETE'
                                 % (pred, action))
            self.assertIsNotNone(began, '%s never started %s'
                                 % (dep, action))
            self.assertLess(done, began, '%s started %s before %s completed'
                            % (dep, action, pred))

    # -- Mistral ----------------------------------------------------------
    def executions(self, stack_id):
        """Mistral executions of the stack's workflow, oldest first."""
        found = self.mistral.executions.list(
            workflow_name='heat_stack_%s' % stack_id, limit=-1,
            sort_keys='created_at', sort_dirs='asc')
        for execution in found:
            self.assertEqual(stack_id, json.loads(execution.input)['stack_id'])
        return found

    def execution_of(self, stack_id, action):
        """The one execution of the stack for ``action`` (CREATE, ...).

        Found by its description, not by order: Mistral's created_at has a
        resolution of one second.
        """
        found = [e for e in self.executions(stack_id)
                 if ') %s, traversal ' % action in (e.description or '')]
        self.assertEqual(1, len(found), 'executions of %s for %s: %s'
                         % (stack_id, action,
                            [e.description for e in found]))
        return self.wait_for_execution(found[0].id)

    def wait_for_execution(self, execution_id, timeout=60):
        return self.wait_until_ended(self.mistral.executions.get,
                                     execution_id, 'execution', timeout)

    def wait_until_ended(self, get, ident, what, timeout):
        """Poll ``get(ident)`` until it leaves RUNNING/IDLE; return it."""
        deadline = time.time() + timeout
        while True:
            found = get(ident)
            if found.state not in ('RUNNING', 'IDLE'):
                return found
            if time.time() > deadline:
                self.fail('%s %s still %s' % (what, ident, found.state))
            time.sleep(0.5)

    def tasks(self, execution_id):
        """{resource name: task} with the action input and result parsed.

        Tasks carry the resource id, not its name: the name is read from
        the task's, which for the plain names these tests use is the
        resource's (``_cleanup`` appended for cleanup tasks; see
        ``graph.naming``).
        """
        result = {}
        for task in self.mistral.tasks.list(workflow_execution_id=execution_id,
                                            limit=-1):
            # Lists leave out the (possibly large) result; get has it.
            task = self.mistral.tasks.get(task.id)
            actions = self.mistral.action_executions.list(task.id)
            self.assertEqual(1, len(actions), 'task %s ran %d actions'
                             % (task.name, len(actions)))
            action = self.mistral.action_executions.get(actions[0].id)
            task.action_execution_id = action.id
            task.action_input = json.loads(action.input)
            # Mistral carries sealed receipts; open them to see the node
            # data (result_value) and the data each task received.
            task.receipt = (json.loads(task.result) or {}).get('node') \
                if task.result else None
            task.result_value = (open_receipt(task.receipt)['d']
                                 if task.receipt else None)
            task.action_input['data'] = {
                key: open_receipt(value)['d']
                for key, value in task.action_input['data'].items()}
            name = task.name
            if not task.action_input['is_update']:
                name = name[:-len('_cleanup')]
            self.assertNotIn((name, task.action_input['is_update']),
                             {(k, t.action_input['is_update'])
                              for k, t in result.items()})
            result[name] = task
        return result

    def mistral_log(self):
        """The local cloud's current mistral.log (every Mistral server)."""
        path = os.path.join(os.environ['DEVCLOUD_DIR'], 'logs',
                            'mistral.log')
        with open(path, errors='replace') as f:
            return f.read()

    def assert_tasks_succeeded(self, stack_id, names, action_label='create'):
        """The newest execution succeeded with one SUCCESS task per name."""
        execution = self.wait_for_execution(self.executions(stack_id)[-1].id)
        self.assertEqual('SUCCESS', execution.state,
                         execution.state_info)
        tasks = self.tasks(execution.id)
        self.assertEqual(sorted(names), sorted(tasks))
        for name, task in tasks.items():
            self.assertEqual('SUCCESS', task.state,
                             '%s task of %s: %s' % (action_label, name,
                                                    task.state_info))
        return execution, tasks
