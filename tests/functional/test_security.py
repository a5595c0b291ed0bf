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

"""Attacks through Mistral on the real cloud: each fails, stacks stay right.

Whoever can use Mistral's API (or edit its database) can forge a task's
completion, re-run tasks, edit the generated workflows and start
executions with any input. None of that may make heat-engine act outside
the stack's own traversal, run a node twice or with data Heat did not
produce, or complete a stack Heat did not complete. The heat.* actions
run by hand or in another workflow do not even reach heat-engine. See the
security page of the documentation for the threat model.
"""

import json
import os
import re
import time
import uuid

from heatclient import client as heat_client
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
import oslo_messaging
from oslo_config import cfg
import yaml

from tests.functional import base

TOPIC = 'heat-mistral-engine'
# Where Mistral's engines take node results from heat-engine (direct
# completions, on by default on the local cloud: no Keystone).
COMPLETION_TOPIC = TOPIC + '-completions'
NODE_FIELDS = ('stack_id', 'traversal', 'resource_id', 'is_update')


class TokenAuth(noauth.NoAuth):
    """No Keystone, but requests carry the given X-Auth-Token."""

    def __init__(self, endpoint, token):
        super().__init__(endpoint=endpoint)
        self.token = token

    def get_token(self, session):
        return self.token


def result_of(action):
    """The result an action execution was completed with."""
    output = json.loads(action.output)
    return output.get('result', output)


class AttackTest(base.FunctionalTest):

    # -- helpers -----------------------------------------------------------
    def running_task(self, stack_id, name, timeout=60, heat=None):
        """Wait until ``name``'s task and its Heat resource are running.

        Returns the task and its (RUNNING) action execution.
        """
        deadline = time.time() + timeout
        while time.time() < deadline:
            rsrc = {r.resource_name: r for r in
                    (heat or self.heat).resources.list(stack_id)}.get(name)
            executions = self.executions(stack_id)
            if rsrc is not None and executions and \
                    rsrc.resource_status.endswith('IN_PROGRESS'):
                for task in self.mistral.tasks.list(
                        workflow_execution_id=executions[-1].id, limit=-1):
                    if task.name != name or task.state != 'RUNNING':
                        continue
                    actions = self.mistral.action_executions.list(task.id)
                    if actions and actions[0].state == 'RUNNING':
                        return task, self.mistral.action_executions.get(
                            actions[0].id)
            time.sleep(0.5)
        self.fail('%s of stack %s never ran' % (name, stack_id))

    def task_named(self, execution_id, name):
        for task in self.mistral.tasks.list(
                workflow_execution_id=execution_id, limit=-1):
            if task.name == name:
                return self.mistral.tasks.get(task.id)
        self.fail('no task %s in %s' % (name, execution_id))

    def wait_for_action(self, action_ex_id, timeout=90):
        return self.wait_until_ended(self.mistral.action_executions.get,
                                     action_ex_id, 'action execution',
                                     timeout)

    def statuses(self, stack_id):
        return {name: r.resource_status
                for name, r in self.resources(stack_id).items()}

    def engine_log(self):
        logs = os.path.join(os.environ['DEVCLOUD_DIR'], 'logs')
        text = ''
        for name in sorted(os.listdir(logs)):
            if name.startswith('heat-engine') and name.endswith('.log'):
                with open(os.path.join(logs, name), errors='replace') as f:
                    text += f.read()
        return text

    def wait_for_log(self, text, timeout=30):
        deadline = time.time() + timeout
        while text not in self.engine_log():
            if time.time() > deadline:
                self.fail('heat-engine never logged %r' % text)
            time.sleep(0.5)

    def mistral_log(self):
        path = os.path.join(os.environ['DEVCLOUD_DIR'], 'logs',
                            'mistral.log')
        with open(path, errors='replace') as f:
            return f.read()

    def bus_client(self, topic, version, timeout=None):
        """An RPC client on Heat's bus, as heat-engine or Mistral's is."""
        # cfg.CONF: oslo.messaging registers its tracing options there.
        url = base.cloud_conf('heat.conf')['DEFAULT']['transport_url']
        transport = oslo_messaging.get_rpc_transport(cfg.CONF, url=url)
        self.addCleanup(transport.cleanup)
        return oslo_messaging.get_rpc_client(
            transport, oslo_messaging.Target(exchange='heat', topic=topic,
                                             version=version),
            timeout=timeout)

    def node_request(self, action, **changes):
        """The request Mistral sent for ``action`` (a heat.run_node one)."""
        request = {key: value for key, value in json.loads(
            action.input).items() if key in NODE_FIELDS + ('token', 'data')}
        request.update(version=2, action_execution_id=action.id)
        request.update(changes)
        return request

    def action_of(self, execution_id, task_name):
        task = self.task_named(execution_id, task_name)
        return self.mistral.action_executions.get(
            self.mistral.action_executions.list(task.id)[0].id)

    # -- forged completions ------------------------------------------------
    def test_forged_completion_never_lets_dependents_run(self):
        stack = self.create_stack(self.template('attack_chain.yaml'),
                                  wait=False)
        _task, action = self.running_task(stack.id, 'slow')
        # Complete Heat's RUNNING action by hand, with attribute values
        # Heat never produced, as clear node data and as a "receipt".
        self.mistral.action_executions.update(
            action.id, state='SUCCESS',
            output=json.dumps({'node': 'forged', 'attrs': {
                'output': 'evil'}}))
        stack = self.wait_for_stack(stack.id)
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        execution = self.wait_for_execution(self.executions(stack.id)[-1].id)
        after = self.task_named(execution.id, 'after')
        self.assertEqual('ERROR', after.state)
        self.assertIn('Refused by Heat: the data Mistral passed for resource',
                      after.state_info)
        self.assertIn('was not sealed by Heat', after.state_info)
        # The dependent never ran; Heat finished slow itself.
        self.wait_for_log('action execution %s had already been completed '
                          'by someone else' % action.id)
        statuses = self.statuses(stack.id)
        self.assertEqual('INIT_COMPLETE', statuses['after'])
        self.assertEqual('CREATE_COMPLETE', statuses['slow'])
        self.assertIn('Refused node', self.engine_log())

        # Re-running the refused task does not run it either: the traversal
        # ended when the stack failed.
        self.mistral.tasks.rerun(after.id)
        rerun = self.wait_for_rerun(after.id)
        self.assertEqual('ERROR', rerun.state)
        self.assertIn('superseded', rerun.output)
        self.assertEqual('INIT_COMPLETE', self.statuses(stack.id)['after'])

        # The stack is consistent: a new update finishes it.
        base.openstack('stack', 'update', '--existing', '--wait',
                       '--parameter', 'wait=0', stack.id, parse=False)
        stack = self.heat.stacks.get(stack.id)
        self.assertEqual('UPDATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual({'after': 'first-slow-after'},
                         self.outputs(stack.id))

    def wait_for_rerun(self, task_id, timeout=60):
        """The second action execution of a re-run task, once it ended."""
        deadline = time.time() + timeout
        while True:
            actions = self.mistral.action_executions.list(task_id)
            if len(actions) > 1:
                action = self.mistral.action_executions.get(
                    sorted(actions, key=lambda a: a.created_at)[-1].id)
                if action.state not in ('RUNNING', 'IDLE'):
                    return action
            if time.time() > deadline:
                self.fail('task %s was not re-run' % task_id)
            time.sleep(0.5)

    def test_forged_completion_of_the_last_node_never_completes_the_stack(
            self):
        stack = self.create_stack(self.template('slow_root.yaml'),
                                  wait=False)
        _task, action = self.running_task(stack.id, 'slow')
        self.mistral.action_executions.update(
            action.id, state='SUCCESS', output=json.dumps({'node': 'x'}))
        execution = self.wait_for_execution(self.executions(stack.id)[-1].id)
        self.assertEqual('SUCCESS', execution.state)
        # Mistral says done; Heat still works on slow and the stack waits.
        self.assertEqual('CREATE_IN_PROGRESS',
                         self.heat.stacks.get(stack.id).stack_status)
        stack = self.wait_for_stack(stack.id)
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertIn('had already been completed by someone else than '
                      'Heat', stack.stack_status_reason)
        self.assertEqual('CREATE_COMPLETE', self.statuses(stack.id)['slow'])

    # -- the same node twice -----------------------------------------------
    def test_same_node_twice_is_answered_not_run_again(self):
        stack = self.create_stack(self.template('attack_chain.yaml'),
                                  wait=False)
        task, action = self.running_task(stack.id, 'slow')
        execution = self.executions(stack.id)[-1]

        # A task's own input run by hand (an ad hoc action execution)
        # does not reach heat-engine (issue 28).
        ad_hoc = self.wait_for_action(self.mistral.action_executions.create(
            'heat.run_node', json.loads(action.input), save_result=True).id)
        self.assertEqual('ERROR', ad_hoc.state)
        self.assertIn('Refused by heat-mistral-engine: heat.run_node acts '
                      'only as a task of a workflow execution that '
                      'heat-engine generated', str(result_of(ad_hoc)))

        # Deliver every node again through Mistral itself: a second
        # execution of the traversal's own workflow with the same input.
        # first completed already, slow still runs.
        again = self.mistral.executions.create(
            execution.workflow_id, workflow_input=json.loads(execution.input),
            description='attack: every node again')
        stack = self.wait_for_stack(stack.id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        again = self.wait_for_execution(again.id)
        self.assertEqual('SUCCESS', again.state, again.state_info)
        # The second requests got the first runs' receipts: same data.
        # Except, by timing, the last node: its second request may reach
        # Heat after the first one completed the stack, whose claims (and
        # their stored receipts) Heat then deleted; it is answered as a
        # node of a completed traversal is, done without acting, with a
        # receipt without node data (``NodeRunner._answer_completed``;
        # nothing of a complete traversal reads it).
        log = self.engine_log()
        answered_done = re.findall(
            r'Node \d+ \([\w/]+\) of stack %s: traversal \S+ is already '
            r'complete; answered as done without acting' % stack.id, log)
        differ = [
            name for name in ('first', 'slow', 'after')
            if json.loads(self.task_named(execution.id, name).result) !=
            json.loads(self.task_named(again.id, name).result)]
        self.assertIn(differ, ([], ['after']), answered_done)
        self.assertEqual(len(differ), len(answered_done), differ)
        # Heat acted once per resource.
        events = self.events(stack.id)
        for name in ('first', 'slow', 'after'):
            self.assertEqual(1, events.count((name, 'CREATE_IN_PROGRESS')),
                             events)
        log = self.engine_log()
        self.assertIn('was already claimed for Mistral action execution %s'
                      % action.id, log)
        self.assertNotIn(ad_hoc.id, log)

    # -- another stack's token, another project ----------------------------
    def other_project_heat(self):
        endpoint = os.environ['OS_ENDPOINT'].rsplit('/', 1)[0] + '/other'
        session = ks_session.Session(
            auth=noauth.NoAuth(endpoint=endpoint),
            additional_headers={'X-Auth-Project': 'other',
                                'X-Auth-User': 'other-user'})
        return heat_client.Client('1', session=session,
                                  service_type='orchestration',
                                  endpoint_override=endpoint)

    def test_another_stacks_token_moves_nothing(self):
        mine = self.create_stack(self.template('chain.yaml'),
                                 params={'seed': 'm'})
        self.assertEqual('CREATE_COMPLETE', mine.stack_status)
        # The victim: a stack of another project, still being created.
        other = self.other_project_heat()
        with open(self.template('attack_chain.yaml')) as f:
            created = other.stacks.create(stack_name=self.stack_name(),
                                          template=f.read())
        victim_id = created['stack']['id']
        self.addCleanup(self._delete_other, other, victim_id)
        self.running_task(victim_id, 'slow', heat=other)
        victim_execution = self.executions(victim_id)[-1]
        victim_input = json.loads(victim_execution.input)
        mine_input = json.loads(self.executions(mine.id)[-1].input)
        # By id: each traversal's definition lives in a Mistral namespace
        # of its own, so the name alone finds none.
        workflow = self.executions(mine.id)[-1].workflow_id
        mine_events = self.events(mine.id)

        # (workflow, its first task, input, words of the refusal)
        attacks = {
            # My token, the victim's stack and workflow: the token is
            # bound to mine.
            'token of another stack': (
                victim_execution.workflow_id, 'first',
                dict(victim_input, token=mine_input['token']),
                ('Refused by Heat', 'the traversal token was sealed for '
                 'stack %s' % mine.id)),
            # The victim's whole input in my workflow: its actions do not
            # run for another stack than their workflow's (issue 28).
            'nodes of another stack': (
                workflow, 'a', victim_input,
                ('Refused by heat-mistral-engine: heat.run_node acts only '
                 'as a task of a workflow execution that heat-engine '
                 'generated for the stack and traversal of its input; it '
                 'runs in an execution of workflow heat_stack_%s, not '
                 'heat_stack_%s' % (mine.id, victim_id),)),
            # My own stack again, after it completed: every node of it
            # ran, so each is answered as done without acting (as for a
            # re-driven execution whose traversal completed meanwhile).
            'a completed traversal': (workflow, 'a', mine_input, ()),
        }
        # Only a request whose token verifies, for the stack and traversal
        # of the action execution's own workflow, is answered: the others
        # name an action execution that is not their node's, which could
        # be anyone's. Their tasks stay RUNNING (heat-engine logs them).
        not_told = {'token of another stack':
                    '[action execution %s, not told]'}
        for attack, (target, first, workflow_input, refusal) in \
                attacks.items():
            execution = self.mistral.executions.create(
                target, workflow_input=workflow_input,
                description='attack: %s' % attack)
            if attack in not_told:
                self.addCleanup(self._cancel, execution.id)
                task, action = self.running_action(execution.id, first)
                self.wait_for_log(not_told[attack] % action.id)
                for words in refusal[1:]:
                    self.assertIn(words, self.engine_log(), attack)
                self.assertEqual('RUNNING', self.mistral.action_executions.get(
                    action.id).state, attack)
                continue
            execution = self.wait_for_execution(execution.id)
            if not refusal:
                self.assertEqual('SUCCESS', execution.state, attack)
                continue
            self.assertEqual('ERROR', execution.state, attack)
            task = self.task_named(execution.id, first)
            self.assertEqual('ERROR', task.state, attack)
            for words in refusal:
                self.assertIn(words, task.state_info, attack)
        # Neither stack was touched: mine unchanged, the victim completes.
        victim = other.stacks.get(victim_id)
        deadline = time.time() + 120
        while victim.stack_status.endswith('IN_PROGRESS'):
            self.assertLess(time.time(), deadline)
            time.sleep(1)
            victim = other.stacks.get(victim_id)
        self.assertEqual('CREATE_COMPLETE', victim.stack_status,
                         victim.stack_status_reason)
        mine = self.heat.stacks.get(mine.id)
        self.assertEqual('CREATE_COMPLETE', mine.stack_status)
        self.assertEqual(mine_events, self.events(mine.id))

    def running_action(self, execution_id, task_name, timeout=60):
        """The task and its RUNNING action execution, once it has one."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for task in self.mistral.tasks.list(
                    workflow_execution_id=execution_id, limit=-1):
                actions = (self.mistral.action_executions.list(task.id)
                           if task.name == task_name else [])
                if actions and actions[0].state == 'RUNNING':
                    return task, self.mistral.action_executions.get(
                        actions[0].id)
            time.sleep(0.5)
        self.fail('no running action of task %s in %s'
                  % (task_name, execution_id))

    def _cancel(self, execution_id):
        try:
            self.mistral.executions.update(execution_id, 'CANCELLED')
        except Exception:
            pass

    def _delete_other(self, other, stack_id):
        try:
            other.stacks.delete(stack_id)
        except Exception:
            return
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if other.stacks.get(stack_id).stack_status.endswith(
                        ('COMPLETE', 'FAILED')):
                    return
            except Exception:
                return
            time.sleep(1)

    def test_a_node_without_its_predecessors_is_refused(self):
        # An edited workflow: 'after' alone, as a start task, with no data
        # from 'slow', which has not finished.
        stack = self.create_stack(self.template('attack_chain.yaml'),
                                  wait=False)
        self.running_task(stack.id, 'slow')
        execution = self.executions(stack.id)[-1]
        generated = self.mistral.workflows.get(execution.workflow_id)
        spec = yaml.safe_load(generated.definition)[
            'heat_stack_%s' % stack.id]
        after = spec['tasks']['after']

        def forged(name):
            return yaml.safe_dump({'version': '2.0', name: {
                'type': 'direct', 'input': spec['input'],
                'tasks': {'after': dict(after, input=dict(after['input'],
                                                          data={}))}}})

        def run(workflow_id):
            attack = self.wait_for_execution(self.mistral.executions.create(
                workflow_id, workflow_input=json.loads(execution.input)).id)
            self.addCleanup(self.mistral.executions.delete, attack.id)
            task = self.task_named(attack.id, 'after')
            self.assertEqual('ERROR', task.state)
            return task

        # As a workflow of its own: its action does not even reach Heat
        # (issue 28).
        name = 'attack_%s' % uuid.uuid4().hex[:8]
        (own,) = self.mistral.workflows.create(forged(name))
        self.addCleanup(self.mistral.workflows.delete, own.id)
        task = run(own.id)
        self.assertIn('Refused by heat-mistral-engine: heat.run_node acts '
                      'only as a task of a workflow execution that '
                      'heat-engine generated', task.state_info)
        self.assertEqual('CREATE_IN_PROGRESS',
                         self.heat.stacks.get(stack.id).stack_status)
        # The traversal's own definition, edited in place.
        self.mistral.workflows.update(
            forged('heat_stack_%s' % stack.id),
            namespace=generated.namespace, id=generated.id)
        task = run(generated.id)
        self.assertIn('Mistral passed no data from update:', task.state_info)
        self.assertIn('those nodes have not completed in Heat',
                      task.state_info)
        stack = self.wait_for_stack(stack.id)
        # The traversal could not finish: the stack fails with the reason.
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertIn('those nodes have not completed in Heat',
                      stack.stack_status_reason)
        self.assertEqual('INIT_COMPLETE', self.statuses(stack.id)['after'])

    # -- secrets -----------------------------------------------------------
    def scan_mistral_db(self, needles):
        """{needle: ['table.column', ...]} where each needle occurs."""
        found = {needle: [] for needle in needles}
        db = base.mistral_db()
        self.addCleanup(db.close)
        with db.cursor() as cur:
            cur.execute(
                "SELECT table_name, column_name FROM "
                "information_schema.columns WHERE table_schema = "
                "DATABASE() AND data_type IN ('char', 'varchar', 'text', "
                "'tinytext', 'mediumtext', 'longtext', 'json', 'blob', "
                "'mediumblob', 'longblob')")
            columns = cur.fetchall()
            self.assertGreater(len(columns), 20)
            for table, column in columns:
                for needle in needles:
                    cur.execute('SELECT COUNT(*) FROM `%s` WHERE '
                                'INSTR(`%s`, %%s) > 0' % (table, column),
                                (needle,))
                    if cur.fetchone()[0]:
                        found[needle].append('%s.%s' % (table, column))
        return found

    def test_no_secret_in_mistrals_database(self):
        secret = 'hidden-%s' % uuid.uuid4().hex
        token = 'tok-%s' % uuid.uuid4().hex
        endpoint = os.environ['OS_ENDPOINT']
        session = ks_session.Session(auth=TokenAuth(endpoint, token))
        client = heat_client.Client('1', session=session,
                                    service_type='orchestration',
                                    endpoint_override=endpoint)
        with open(self.template('hidden.yaml')) as f:
            created = client.stacks.create(
                stack_name=self.stack_name(), template=f.read(),
                parameters={'secret': secret})
        stack_id = created['stack']['id']
        self.addCleanup(self._delete_quietly, stack_id)
        stack = self.wait_for_stack(stack_id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        # The secret did travel from a to b through Mistral...
        self.assertEqual({'b_value': secret}, self.outputs(stack_id))
        _execution, tasks = self.assert_tasks_succeeded(stack_id, ['a', 'b'])
        self.assertEqual(secret, tasks['a'].result_value['attrs']['output'])
        # ... and the token was the request's (heat-engine opened it).
        grant = self.token_context(tasks['a'])
        self.assertEqual(token, grant['auth_token'])
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack_id))

        found = self.scan_mistral_db([secret, token, stack_id])
        # The scan works: the stack id is in Mistral (in clear, by design).
        self.assertIn('workflow_definitions_v2.name', found[stack_id])
        self.assertEqual([], found[secret])
        self.assertEqual([], found[token])

    def token_context(self, task):
        method, sealed = task.action_input['token'].split(':', 1)
        self.assertEqual('cryptography_decrypt_v1', method)
        return json.loads(base.heat_unseal(sealed))['context']

    # -- garbage on the bus ------------------------------------------------
    def test_garbage_on_the_bus_leaves_the_engine_running(self):
        client = self.bus_client(TOPIC, '1.0')
        marker = 'garbage-%s' % uuid.uuid4().hex[:8]
        garbage = [
            None, 'text', 12, [1, 2], {}, {'version': 2},
            {'version': 2, 'stack_id': marker, 'resource_id': 'x'},
            {'version': 2, 'action_execution_id': marker * 10000},
            dict(version=2, action_execution_id=str(uuid.uuid4()),
                 stack_id=marker, traversal='t', resource_id=1,
                 is_update=True, data={'update:1': 'forged'},
                 token='cryptography_decrypt_v1:forged'),
        ]
        for request in garbage:
            client.cast({}, 'run_node', request=request)
        client.cast({}, 'no_such_method', request={})
        client.cast({}, 'run_node')
        self.wait_for_log('Refused node 1 (create/update) of stack %s '
                          '[action execution %s, not told]: the traversal '
                          'token does not verify'
                          % (marker, garbage[-1]['action_execution_id']))
        self.assertIn('Refused a malformed node request', self.engine_log())
        stack = self.create_stack(self.template('chain.yaml'),
                                  params={'seed': 'g'})
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual({'c_value': 'g-b-c'}, self.outputs(stack.id))

    # -- direct completions -----------------------------------------------
    def user_async_action(self):
        """A RUNNING action execution of a user's own workflow."""
        name = 'user_wait_%s' % uuid.uuid4().hex[:8]
        self.mistral.workflows.create(yaml.safe_dump({
            'version': '2.0',
            name: {'tasks': {'wait': {'action': 'std.async_noop'}}}}))
        self.addCleanup(self.mistral.workflows.delete, name)
        execution = self.mistral.executions.create(name)
        self.addCleanup(self._cancel, execution.id)
        return self.running_action(execution.id, 'wait')[1]

    def test_direct_completions_complete_only_the_node_s_own_action(self):
        # On Heat's bus, as a heat-engine (or any host with the broker's
        # credentials) calls Mistral's engines, while slow runs.
        stack = self.create_stack(self.template('attack_chain.yaml'),
                                  params={'wait': 30}, wait=False)
        _task, action = self.running_task(stack.id, 'slow')
        node = {key: json.loads(action.input)[key] for key in NODE_FIELDS}
        user_action = self.user_async_action()
        client = self.bus_client(COMPLETION_TOPIC, '1.1', timeout=30)
        attacks = {
            "a user's action, named as the node": (user_action.id, node),
            "the node's action, as another resource": (
                action.id, dict(node, resource_id=node['resource_id'] + 1)),
            "the node's action, as its cleanup": (
                action.id, dict(node, is_update=False)),
            "the node's action, as another traversal's": (
                action.id, dict(node, traversal=str(uuid.uuid4()))),
            "the node's action, as another stack's": (
                action.id, dict(node, stack_id=str(uuid.uuid4()))),
        }
        for attack, (action_id, claimed) in attacks.items():
            exc = self.assertRaises(
                oslo_messaging.RemoteError, client.call, {},
                'complete_action', action_execution_id=action_id,
                state='SUCCESS', output={'node': 'forged'}, **claimed)
            self.assertEqual('ForeignActionExecution', exc.exc_type, attack)
        # A caller that names no node (RPC API 1.0) is refused too
        # (oslo.messaging raises a built-in exception again here).
        old = self.bus_client(COMPLETION_TOPIC, '1.0', timeout=30)
        exc = self.assertRaises(
            ValueError, old.call, {}, 'complete_action',
            action_execution_id=user_action.id, state='ERROR',
            output={'reason': 'forged'})
        self.assertIn('a completion lacks stack_id', str(exc))
        # Nothing was completed; Mistral's engine logged each refusal.
        self.assertEqual('RUNNING', self.mistral.action_executions.get(
            user_action.id).state)
        self.assertEqual('RUNNING', self.mistral.action_executions.get(
            action.id).state)
        log = self.mistral_log()
        self.assertEqual(1, log.count('Refused to complete action execution '
                                      '%s ' % user_action.id))
        self.assertEqual(len(attacks) - 1, log.count(
            'Refused to complete action execution %s ' % action.id))
        # The node's own completion still goes to Mistral's engine.
        stack = self.wait_for_stack(stack.id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual({'after': 'first-slow-after'},
                         self.outputs(stack.id))
        self.assertIn('Completed action execution %s (SUCCESS) for '
                      'heat-engine, without Mistral\'s API' % action.id,
                      self.mistral_log())

    def test_a_bogus_completion_topic_changes_nothing(self):
        # A node request naming a topic no Mistral engine serves: once, it
        # held the node's thread for direct_completion_timeout and then
        # sent every result of that heat-engine through the API for a
        # minute.
        stack = self.create_stack(self.template('attack_chain.yaml'),
                                  wait=False)
        _task, action = self.running_task(stack.id, 'slow')
        self.bus_client(TOPIC, '1.0').cast({}, 'run_node', request=(
            self.node_request(action, completion_topic='nobody-listens')))
        self.wait_for_log("named completion topic 'nobody-listens', which "
                          "no Mistral engine serves", timeout=60)
        # The second request of the node got the first run's answer.
        self.wait_for_log('Mistral action execution %s had its answer '
                          'already' % action.id, timeout=60)
        stack = self.wait_for_stack(stack.id)
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        # Direct completions are still on: the next stack's nodes all go
        # to Mistral's engines.
        second = self.create_stack(self.template('chain.yaml'),
                                   params={'seed': 'z'})
        self.assertEqual('CREATE_COMPLETE', second.stack_status,
                         second.stack_status_reason)
        execution_id = self.executions(second.id)[-1].id
        log = self.mistral_log()
        for name in ('a', 'b', 'c'):
            node_action = self.action_of(execution_id, name)
            self.assertIn('Completed action execution %s (SUCCESS) for '
                          'heat-engine, without Mistral\'s API'
                          % node_action.id, log, name)
