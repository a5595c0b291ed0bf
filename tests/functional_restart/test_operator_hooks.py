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

"""Operator hooks on the real cloud (one restart for every case).

The cloud is restarted with ``[mistral_scheduler] operator_hooks_file``
naming a copy of ``tests/functional_restart/operator_hooks/hooks.yaml``,
whose entries run the workflow ``hme_test_hook`` (created here) on
resources selected by name. Cases: data into and out of hooks, their
order around the resource and its dependent, a resource name and an
attribute in Jinja and YAQL handed to hooks as text (issue 28, item 1),
update and delete hooks, a failing hook with and without rollback, a
timed-out hook, hooks refused at validation before anything is created,
and hooks that a forged execution skips (``hook_proof_attacks``). Last,
the copy is broken (not UTF-8, then not YAML; heat-engine reads the file
again when it changes): creates and updates are refused with one
sentence naming the file, while a rollback and a delete still work
(issue 28, item 7).
"""

import datetime
import json
import os
import re
import shutil

import fixtures
import yaml

from tests.functional import base
from tests.functional_restart import faults
from tests.functional_restart import hook_proof_attacks
from tests.functional_restart import test_bad_config

HOOKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         'operator_hooks')
HOOKS_FILE = os.path.join(HOOKS_DIR, 'hooks.yaml')
WORKFLOW = 'hme_test_hook'
# hooktext.yaml's hooked resource and its value: Mistral would evaluate
# them if they were written where it evaluates (a task's input).
TEXT_NAME = 'hooked{{ 6*7 }} <% 6*7 %> {% raw %}'
TEXT_VALUE = 'v{{ 6*7 }} <% 6*7 %>'
TEXT_MARKS = ('6*7', '<%', '{% raw')


def engine_log():
    """What the cloud's heat-engines logged, in one text."""
    return ''.join(faults.engine_logs().values())


def when(text):
    return datetime.datetime.strptime(text, '%Y-%m-%d %H:%M:%S')


class OperatorHooksTest(base.FunctionalTest,
                        hook_proof_attacks.HookProofAttacks):

    def setUp(self):
        super().setUp()
        # A copy, which the last case breaks; removed after the restore.
        self.hooks_file = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'hooks.yaml')
        shutil.copyfile(HOOKS_FILE, self.hooks_file)
        # Stacks are deleted while the hooks still apply (delete hooks);
        # the workflow is deleted after them, the overlay last.
        self.useFixture(test_bad_config.HeatConfOverlay(
            '[mistral_scheduler]\noperator_hooks_file = %s\n'
            % self.hooks_file))
        with open(os.path.join(HOOKS_DIR, WORKFLOW + '.yaml')) as f:
            definition = f.read()
        if any(w.name == WORKFLOW for w in self.mistral.workflows.list()):
            self.mistral.workflows.update(definition)
        else:
            self.mistral.workflows.create(definition)
        self.addCleanup(self.mistral.workflows.delete, WORKFLOW)

    def template_of(self, name):
        return os.path.join(HOOKS_DIR, name + '.yaml')

    def hook_tasks(self, stack_id, action):
        """The stack's execution for ``action`` and its tasks by name."""
        execution = self.execution_of(stack_id, action)
        return execution, self.tasks_by_name(execution.id)

    def tasks_by_name(self, execution_id):
        # get, not list: lists leave out what tasks published.
        return {t.name: self.mistral.tasks.get(t.id) for t in
                self.mistral.tasks.list(workflow_execution_id=execution_id,
                                        limit=-1)}

    def published(self, task):
        return json.loads(task.published or '{}')

    def test_operator_hooks(self):
        # Every stack at once: the cases overlap in time, as in a cloud.
        data = self.create_stack(self.template_of('data'), wait=False)
        text = self.create_stack(self.template_of('hooktext'), wait=False)
        failing = self.create_stack(self.template_of('hookfail'), wait=False)
        rolled = self.create_stack(self.template_of('hookfail'), wait=False,
                                   extra=['--enable-rollback'])
        slow = self.create_stack(self.template_of('hookslow'), wait=False)
        kept = self.create_stack(self.template_of('hookrollback'),
                                 wait=False)
        # Mistral skips hooks: heat-engine refuses (hook_proof_attacks).
        skipped = self.skip_hooks()
        self.check_validation_refuses()
        self.check_data_and_order(self.wait_for_stack(data.id))
        self.check_template_text(self.wait_for_stack(text.id))
        self.check_update_and_delete(data.id)
        self.check_failure(self.wait_for_stack(failing.id))
        self.check_rollback(self.wait_for_stack(rolled.id))
        self.check_timeout(self.wait_for_stack(slow.id))
        self.check_hooks_skipped(skipped)
        # Last: it breaks the hooks file every case above reads.
        self.check_bad_hooks_file(self.wait_for_stack(kept.id))

    def check_validation_refuses(self):
        for name, message in (
                ('hookmissing', 'Operator hook entry 6 (missing) of hooks '
                                'file %s: workflow hme_no_such_workflow does '
                                'not exist in Mistral' % self.hooks_file),
                ('hookbadinput', 'Operator hook entry 7 (badinput) of hooks '
                                 'file %s: workflow hme_test_hook does not '
                                 'accept the input colour' % self.hooks_file)):
            stack_name = self.stack_name()
            out = base.openstack('stack', 'create', '-t',
                                 self.template_of(name), stack_name,
                                 parse=False, check=False)
            self.assertNotEqual(0, out.returncode)
            self.assertIn(message, out.stdout + out.stderr)
            self.assertNotIn(stack_name, [
                s.stack_name for s in self.heat.stacks.list()])
            # Preview is refused the same way.
            out = base.openstack('stack', 'create', '--dry-run', '-t',
                                 self.template_of(name), stack_name,
                                 parse=False, check=False)
            self.assertIn(message, out.stdout + out.stderr)

    def check_data_and_order(self, stack):
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        execution, tasks = self.hook_tasks(stack.id, 'CREATE')
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        before = tasks['hooked__before__echo_before']
        node = tasks['hooked']
        after = tasks['hooked__after__echo_after']
        dependent = tasks['dependent']
        # Data in: the before hook knows the planned action; the after hook
        # gets what Heat did, the physical id and the listed attribute.
        seen = self.published(before)['hook_hooked__before__echo_before']
        self.assertEqual(
            {'stack_id': stack.id, 'stack_name': stack.stack_name,
             'name': 'hooked', 'type': 'OS::Heat::TestResource',
             'action': 'create', 'physical_resource_id': None,
             'attributes': {}}, seen['seen'])
        rsrc = self.resources(stack.id)['hooked']
        (out,) = self.published(after)['hook_hooked__after__echo_after']
        self.assertEqual('create', out['seen']['action'])
        self.assertEqual(rsrc.physical_resource_id,
                         out['seen']['physical_resource_id'])
        self.assertEqual({'output': 'hello-hook'}, out['seen']['attributes'])
        # Data out: the hook workflow's output is published, and shown.
        self.assertEqual('echo', out['mode'])
        shown = base.openstack('stack', 'workflow', 'show', stack.id)
        rows = {row['task']: row for row in shown['tasks']}
        self.assertEqual('hook after: echo_after',
                         rows['hooked__after__echo_after']['action'])
        self.assertEqual([out], rows['hooked__after__echo_after']['output'])
        # Order: before hook, resource, after hook (2 s), dependent.
        self.assertLessEqual(when(before.updated_at),
                             when(node.created_at))
        self.assertLessEqual(when(node.updated_at), when(after.created_at))
        self.assertLessEqual(when(after.updated_at),
                             when(dependent.created_at))
        self.assertGreaterEqual(
            (when(dependent.created_at) - when(node.updated_at)).seconds, 2)
        # The dependent still got the resource's data through the hooks.
        self.assertEqual('hello-hook', self.heat.resources.get(
            stack.id, 'dependent').attributes['output'])

    def check_template_text(self, stack):
        """Hooks get a name and an attribute in Jinja and YAQL as text."""
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        execution, tasks = self.hook_tasks(stack.id, 'CREATE')
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        (before,) = [t for n, t in tasks.items()
                     if n.endswith('__before__echo_before')]
        (after,) = [t for n, t in tasks.items()
                    if n.endswith('__after__echo_after')]
        seen = self.published(before)['hook_' + before.name]['seen']
        self.assertEqual((TEXT_NAME, 'create'),
                         (seen['name'], seen['action']))
        (out,) = self.published(after)['hook_' + after.name]
        self.assertEqual((TEXT_NAME, {'output': TEXT_VALUE}),
                         (out['seen']['name'], out['seen']['attributes']))
        self.assertEqual(TEXT_VALUE, self.heat.resources.get(
            stack.id, 'dependent').attributes['output'])
        # As data only: the generated definition (its description aside,
        # which Mistral does not evaluate) holds none of the text.
        definition = yaml.safe_load(self.mistral.workflows.get(
            execution.workflow_id).definition)['heat_stack_' + stack.id]
        definition.pop('description', None)
        for mark in TEXT_MARKS:
            self.assertNotIn(mark, json.dumps(definition))

    def update(self, stack_id, value):
        base.openstack('stack', 'update', '--wait', '-t',
                       self.template_of('data'), '--parameter',
                       'value=%s' % value, stack_id, parse=False)
        stack = self.heat.stacks.get(stack_id)
        self.assertEqual('UPDATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        executions = [e for e in self.executions(stack_id)
                      if ') UPDATE, traversal ' in (e.description or '')]
        execution = self.wait_for_execution(executions[-1].id)
        return self.tasks_by_name(execution.id)

    def check_update_and_delete(self, stack_id):
        # Nothing changed: the after hook is skipped (SUCCESS, no output).
        tasks = self.update(stack_id, 'hello-hook')
        task = tasks['hooked__after__echo_after']
        self.assertEqual('SUCCESS', task.state)
        self.assertEqual([], self.published(task)[
            'hook_hooked__after__echo_after'])
        # Changed in place: the hook runs for the update.
        tasks = self.update(stack_id, 'changed')
        (out,) = self.published(tasks['hooked__after__echo_after'])[
            'hook_hooked__after__echo_after']
        self.assertEqual(('update', {'output': 'changed'}),
                         (out['seen']['action'], out['seen']['attributes']))
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack_id))
        _execution, tasks = self.hook_tasks(stack_id, 'DELETE')
        (out,) = self.published(tasks['hooked_cleanup__after__echo_delete'])[
            'hook_hooked_cleanup__after__echo_delete']
        self.assertEqual('delete', out['seen']['action'])
        self.assertEqual('SUCCESS', tasks['hooked_cleanup__hooks_done'].state)

    def check_failure(self, stack):
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertEqual('Operator hook refuse after create of hookfail '
                         'failed: CMDB refused hookfail',
                         stack.stack_status_reason)
        execution, tasks = self.hook_tasks(stack.id, 'CREATE')
        self.assertEqual('ERROR', execution.state)
        self.assertEqual('ERROR', tasks['hookfail__after__refuse'].state)
        self.assertNotIn('hookfail__hooks_done', tasks)
        for name, rsrc in self.resources(stack.id).items():
            self.assertNotIn('IN_PROGRESS', rsrc.resource_status, name)

    def check_rollback(self, stack):
        self.assertEqual('ROLLBACK_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        reasons = [e.resource_status_reason for e in
                   self.heat.events.list(stack.id)
                   if e.resource_name == stack.stack_name and
                   e.resource_status == 'CREATE_FAILED']
        self.assertEqual(['Operator hook refuse after create of hookfail '
                          'failed: CMDB refused hookfail'], reasons)
        self.assertEqual([], list(self.resources(stack.id)))

    def check_timeout(self, stack):
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertEqual('Operator hook slow after create of hookslow timed '
                         'out after 5 seconds: Task timed out '
                         '[timeout(s)=5].', stack.stack_status_reason)

    # -- a bad hooks file (issue 28, item 7) ------------------------------
    def break_hooks_file(self, content):
        with open(self.hooks_file, 'wb') as f:
            f.write(content)

    def assert_refused(self, out, message):
        """The CLI failed, saying ``message`` and no traceback."""
        self.assertNotEqual(0, out.returncode)
        said = out.stdout + out.stderr
        self.assertIn(message, said)
        self.assertNotIn('Traceback', said)

    def check_bad_hooks_file(self, kept):
        self.assertEqual('CREATE_COMPLETE', kept.stack_status,
                         kept.stack_status_reason)
        template = self.template_of('hookrollback')
        self.check_rollback_without_hooks(kept.id, template)
        for content, message in (
                (b'hooks:\n  - name: caf\xe9\n',
                 '[mistral_scheduler] operator_hooks_file %s is not UTF-8 '
                 'text (byte 20)' % self.hooks_file),
                (b'hooks: [\n',
                 '%s is not valid YAML: expected the node content, but '
                 'found \'<stream end>\' at line 2, column 1'
                 % self.hooks_file)):
            self.break_hooks_file(content)
            # An update of the stack and a create are refused, in one
            # sentence naming the file; the stack is left as it was.
            self.assert_refused(base.openstack(
                'stack', 'update', '--wait', '-t', template, '--parameter',
                'value=refused', kept.id, parse=False, check=False), message)
            stack = self.heat.stacks.get(kept.id)
            self.assertEqual('ROLLBACK_COMPLETE', stack.stack_status)
            name = self.stack_name()
            self.assert_refused(base.openstack(
                'stack', 'create', '-t', template, name, parse=False,
                check=False), message)
            self.assertNotIn(name, [
                s.stack_name for s in self.heat.stacks.list()])
        # The file is still not YAML: the delete runs without hooks.
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(kept.id))
        self.assertIn('Stack %s DELETE runs without operator hooks: %s'
                      % (kept.id, message), engine_log())

    def check_rollback_without_hooks(self, stack_id, template):
        """An update fails after the file broke: its rollback still runs."""
        base.openstack('stack', 'update', '-t', template, '--parameter',
                       'value=doomed', '--parameter', 'fail=true',
                       '--parameter', 'wait=15', '--rollback', 'enabled',
                       stack_id, parse=False)
        # The update's traversal has its hooks once its execution exists.
        faults.wait_until(lambda: [
            e for e in self.executions(stack_id)
            if ') UPDATE, traversal ' in (e.description or '')], 60)
        self.break_hooks_file(b'hooks:\n  - name: caf\xe9\n')
        stack = self.wait_for_stack(
            stack_id, until=('ROLLBACK_COMPLETE', 'ROLLBACK_FAILED'))
        self.assertEqual('ROLLBACK_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertRegex(engine_log(),
                         r'Stack %s ROLLBACK runs without operator hooks: '
                         r'\[mistral_scheduler\] operator_hooks_file'
                         % re.escape(stack_id))
        self.assertEqual('hello-hook', self.heat.resources.get(
            stack_id, 'hooked').attributes['output'])
