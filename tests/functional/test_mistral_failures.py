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

"""Failures inside Mistral fail their stack within seconds (issue 28).

Each test makes Mistral fail a stack's traversal the way it happens in
practice, with nobody telling heat-engine, and checks that the stack is
FAILED within ``BOUND`` seconds of the failure, by the failure watch, not
minutes later by the orphan check (whose grace period alone is 120 s on
the local cloud), with one clean sentence and nothing left IN_PROGRESS.
"""

import datetime
import os
import re

from oslo_utils import timeutils

from tests.functional import base

# Seconds from Mistral's failure to the stack's FAILED: the watch's
# interval (5 s) plus its work, on a busy 2-core machine.
BOUND = 30
# KiB of node data each producer hands to the consumer. Sealed (about
# 1.33 times, see security.rst) each receipt stays under
# [mistral_scheduler] max_node_data_kb (1024), while the consumer's input,
# the two together, is about 1.5 MB: over Mistral's [engine]
# execution_field_size_limit_kb (1024 by default, the local cloud's).
PRODUCER_KB = 560


def producer(kb):
    """An OS::Heat::Value of ``kb`` KiB, built in Heat (not sent in)."""
    return {'type': 'OS::Heat::Value',
            'properties': {'value': {'list_join': ['', {'repeat': {
                'template': 'x' * 1024,
                'for_each': {'<%n%>': [str(n) for n in range(kb)]}}}]}}}


BIG_DATA = {
    'heat_template_version': '2021-04-16',
    'resources': {
        'producer_a': producer(PRODUCER_KB),
        'producer_b': producer(PRODUCER_KB),
        # Reads both: its task's input holds both receipts.
        # (OS::Heat::None takes any properties.)
        'consumer': {
            'type': 'OS::Heat::None',
            'properties': {'a': {'get_attr': ['producer_a', 'value']},
                           'b': {'get_attr': ['producer_b', 'value']}}},
        # Still running when the consumer fails: Mistral fails the
        # execution only once no task of it runs any more.
        'slow': {'type': 'OS::Heat::TestResource',
                 'properties': {'action_wait_secs': {'create': 60}}},
    }}

SLOW = {
    'heat_template_version': '2021-04-16',
    'resources': {
        'slow': {'type': 'OS::Heat::TestResource',
                 'properties': {'action_wait_secs': {'create': 40}}},
        'after': {'type': 'OS::Heat::TestResource',
                  'properties': {'value': {'get_attr': ['slow',
                                                        'output']}}},
    }}


def mistral_time(text):
    """A Mistral or Heat time (UTC, no zone) as a naive datetime."""
    return timeutils.normalize_time(timeutils.parse_isotime(text))


class MistralFailureTest(base.FunctionalTest):

    def failed_at(self, stack_id):
        """When Heat recorded the stack's CREATE_FAILED (its event)."""
        events = [e for e in self.heat.events.list(stack_id)
                  if e.resource_name == self.heat.stacks.get(
                      stack_id).stack_name and
                  e.resource_status == 'CREATE_FAILED']
        self.assertEqual(1, len(events), 'the stack failed %d times'
                         % len(events))
        return mistral_time(events[0].event_time)

    def assert_nothing_in_progress(self, stack_id):
        for name, rsrc in self.resources(stack_id).items():
            self.assertNotIn('IN_PROGRESS', rsrc.resource_status, name)

    def assert_clean(self, reason):
        for leak in ('Traceback', 'File "', 'http://', 'https://', 'gAAAA',
                     '/site-packages/', 'Field size limit exceeded'):
            self.assertNotIn(leak, reason)

    def test_data_over_mistrals_limit_fails_the_node_within_seconds(self):
        stack = self.create_stack(self.template_file(BIG_DATA), wait=False)
        execution = self.running_execution(stack.id)
        stack = self.wait_for_stack(stack.id, timeout=90)
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        reason = stack.stack_status_reason
        found = re.fullmatch(
            r"Resource consumer: the data passed to it \((\d+) KB\) "
            r"exceeds Mistral's \[engine\] execution_field_size_limit_kb "
            r"\((\d+) KB\)", reason)
        self.assertIsNotNone(found, reason)
        size, limit = int(found.group(1)), int(found.group(2))
        self.assertEqual(1024, limit)
        self.assertGreater(size, 1400)
        self.assertLess(size, 1700)
        self.assert_clean(reason)

        # Failed by the watch, from the consumer's task, while 'slow'
        # still ran (its execution could not have ended yet).
        (task,) = [t for t in self.mistral.tasks.list(
            workflow_execution_id=execution.id, limit=-1)
            if t.name == 'consumer']
        self.assertEqual('ERROR', task.state)
        self.assertIn('Field size limit exceeded', task.state_info)
        delay = self.failed_at(stack.id) - mistral_time(task.updated_at)
        self.assertLess(delay, datetime.timedelta(seconds=BOUND))
        resources = self.resources(stack.id)
        self.assertEqual('CREATE_FAILED', resources['slow'].resource_status)
        self.assertEqual('CREATE_COMPLETE',
                         resources['producer_a'].resource_status)
        self.assert_nothing_in_progress(stack.id)
        # And the execution does not run on for the slow resource.
        execution = self.wait_for_execution(execution.id, timeout=BOUND)
        self.assertEqual('ERROR', execution.state)

        # Deletes as usual.
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack.id))

    def test_an_execution_failed_by_hand_fails_its_stack_within_seconds(
            self):
        stack = self.create_stack(self.template_file(SLOW), wait=False)
        execution = self.running_execution(stack.id)
        self.wait_resource(stack.id, 'slow', 'CREATE_IN_PROGRESS')
        base.openstack('workflow', 'execution', 'update', '--state', 'ERROR',
                       execution.id)
        failed = self.mistral.executions.get(execution.id)
        self.assertEqual('ERROR', failed.state)
        stack = self.wait_for_stack(stack.id, timeout=BOUND)
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        reason = stack.stack_status_reason
        found = re.fullmatch(
            r"Mistral execution %s of this CREATE ended ERROR while the "
            r"stack was IN_PROGRESS \(Mistral's message is in heat-engine's "
            r"log, request (req-[0-9a-f-]+)\); recover with 'openstack "
            r"stack update --existing' or delete the stack" % execution.id,
            reason)
        self.assertIsNotNone(found, reason)
        self.assert_clean(reason)
        delay = self.failed_at(stack.id) - mistral_time(failed.updated_at)
        self.assertLess(delay, datetime.timedelta(seconds=BOUND))
        self.assert_nothing_in_progress(stack.id)
        # The request id leads to Mistral's text in heat-engine's log.
        logs = os.path.join(os.environ['DEVCLOUD_DIR'], 'logs')
        text = ''
        for name in os.listdir(logs):
            if name.startswith('heat-engine') and name.endswith('.log'):
                with open(os.path.join(logs, name), errors='replace') as f:
                    text += f.read()
        self.assertIn('[%s]: Mistral execution %s' % (found.group(1),
                                                      execution.id), text)

        # update --existing recovers, as the reason says.
        base.openstack('stack', 'update', '--existing', '--wait', stack.id,
                       parse=False)
        stack = self.heat.stacks.get(stack.id)
        self.assertEqual('UPDATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
