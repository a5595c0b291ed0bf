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

"""``heat-mistral-engine check-orphans`` on the real local cloud.

Each test makes Heat and Mistral disagree the way it happens in practice,
runs the checker as an operator would (``--grace 0``: the disagreement is
known to be real) and checks the repair through the APIs.
"""

import configparser
import os
import subprocess
import time


from tests.functional import base

# first -> slow (create waits 15 s) -> after
SLOW_CHAIN = {
    'heat_template_version': '2021-04-16',
    'resources': {
        'first': {'type': 'OS::Heat::TestResource',
                  'properties': {'value': 'first'}},
        'slow': {'type': 'OS::Heat::TestResource',
                 'properties': {'value': {'get_attr': ['first', 'output']},
                                'action_wait_secs': {'create': 15}}},
        'after': {'type': 'OS::Heat::TestResource',
                  'properties': {'value': {'get_attr': ['slow', 'output']}}},
    }}

# One resource that takes 40 s.
SLOW = {
    'heat_template_version': '2021-04-16',
    'resources': {
        'slow': {'type': 'OS::Heat::TestResource',
                 'properties': {'action_wait_secs': {'create': 40}}},
    }}


def heat_sql(statement):
    """Run SQL on the cloud's Heat database (named in its heat.conf)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(os.environ['DEVCLOUD_DIR'], 'etc',
                             'heat.conf'))
    url = parser['database']['connection']
    database = url.rsplit('/', 1)[1].split('?')[0]
    subprocess.run(['mysql', '-h', '127.0.0.1', '-u', 'root', database,
                    '-e', statement], check=True, timeout=60)


def check_orphans(stack_id, *extra):
    """Run the checker on one stack (other tests' stacks are not ours)."""
    etc = os.path.join(os.environ['DEVCLOUD_DIR'], 'etc')
    cmd = ['heat-mistral-engine', 'check-orphans', '--grace', '0',
           '--stack', stack_id,
           '--config-file', os.path.join(etc, 'heat.conf'),
           '--config-dir', os.path.join(etc, 'heat.conf.d')] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def rows(table):
    """The checker's table as [kind, stack, execution, outcome, reason]."""
    lines = table.splitlines()[1:-1]
    return [line.split(None, 4) for line in lines]


class OrphanCheckTest(base.FunctionalTest):

    def test_stack_whose_execution_was_cancelled_is_failed_and_recovers(
            self):
        stack = self.create_stack(self.template_file(SLOW_CHAIN),
                                  wait=False)
        execution = self.running_execution(stack.id)
        self.wait_resource(stack.id, 'slow', 'CREATE_IN_PROGRESS')
        self.mistral.executions.update(execution.id, 'CANCELLED')
        # The slow resource finishes in Heat, but Mistral will never start
        # 'after': the stack would stay CREATE_IN_PROGRESS until timeout.
        self.wait_resource(stack.id, 'slow', 'CREATE_COMPLETE')
        time.sleep(3)
        self.assertEqual('CREATE_IN_PROGRESS',
                         self.heat.stacks.get(stack.id).stack_status)

        found = check_orphans(stack.id)
        self.assertEqual(1, found.returncode, found.stdout + found.stderr)
        self.assertEqual([['stack', stack.id, execution.id, 'found']],
                         [r[:4] for r in rows(found.stdout)])
        self.assertEqual('CREATE_IN_PROGRESS',
                         self.heat.stacks.get(stack.id).stack_status)

        repaired = check_orphans(stack.id, '--repair')
        self.assertEqual(0, repaired.returncode,
                         repaired.stdout + repaired.stderr)
        self.assertEqual([['stack', stack.id, execution.id, 'repaired']],
                         [r[:4] for r in rows(repaired.stdout)])
        stack = self.heat.stacks.get(stack.id)
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertIn('Mistral execution %s of this CREATE ended CANCELLED'
                      % execution.id, stack.stack_status_reason)
        self.assertIn('openstack stack update --existing',
                      stack.stack_status_reason)
        for name, rsrc in self.resources(stack.id).items():
            self.assertNotIn('IN_PROGRESS', rsrc.resource_status, name)

        base.openstack('stack', 'update', '--existing', '--wait', stack.id,
                       parse=False)
        stack = self.heat.stacks.get(stack.id)
        self.assertEqual('UPDATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual('CREATE_COMPLETE',
                         self.resources(stack.id)['after'].resource_status)

    def test_execution_running_for_a_failed_stack_is_cancelled(self):
        # heat-engine ends the execution of a stack it fails; an engine
        # that dies between the two leaves it running. Simulated by failing
        # the stack in Heat's database behind heat-engine's back.
        stack = self.create_stack(self.template_file(SLOW), wait=False)
        execution = self.running_execution(stack.id)
        heat_sql("UPDATE stack SET status = 'FAILED', status_reason = "
                 "'simulated' WHERE id = '%s'" % stack.id)

        result = check_orphans(stack.id, '--repair')
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        self.assertEqual([['execution', stack.id, execution.id, 'repaired',
                           'the stack is CREATE_FAILED']],
                         rows(result.stdout))
        execution = self.wait_for_execution(execution.id)
        self.assertEqual('CANCELLED', execution.state)
        # Agreement now: a second check finds nothing about this stack.
        self.assertEqual([], rows(check_orphans(stack.id).stdout))
