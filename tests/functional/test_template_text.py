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

"""Template text reaches Mistral only as data, never where it evaluates.

Mistral renders every string of a task's input, ``publish``,
``with-items`` and transitions as Jinja (``{{ }}``, ``{% %}``) or YAQL
(``<% %>``) in the service project's context. Resource names, parameter
values, outputs and nested stacks' names here are written in both
languages: Heat must keep them as the literal text, the stacks must
create, replace and delete, and no task in Mistral may carry them. A
255-character name (Heat's longest) checks that task names stay within
Mistral's limits.
"""

import json
import os
import re
import uuid

import fixtures
from mistralclient.api import base as mistral_base
import yaml

from tests.functional import base

JINJA = 'x{{ 6*7 }}'
YAQL = 'y<% 6*7 %>'
RAW = '{% raw %}z'
# Issue 28's leak: evaluated, it failed the execution with the sealed
# traversal token in Mistral's error text, which the orphan check copied
# into the stack's reason.
TOKEN = '{{ {}[_.token] }}'
CHILD = 'k{{ 6*7 }}'
# 255 characters, the longest name Heat stores; the same again with an
# expression in it.
LONG = 'L' * 255
LONG_JINJA = '{{ 6*7 }}' + 'M' * 246
PARAMETER = 'p{{ 6*7 }} <% 6*7 %> {% raw %}'
# What Mistral would have made of the text above (none of it hex, as ids
# are), and what only user text holds: none may reach a definition or a
# task's input.
EVALUATED = ('x42', 'y42', 'k42', 'p42')
USER_MARKS = ('6*7', '{% raw', '<%', '{}[')
# Task names hold sanitised names (``graph.naming``); task inputs not even
# those.
NAME_MARKS = ('L' * 16, 'M' * 16)
SAFE_TASK_NAME = re.compile(r'[A-Za-z0-9_-]{1,208}\Z')
RUN_NODE_INPUT = {'stack_id', 'traversal', 'token', 'resource_id',
                  'is_update', 'data'}


def test_resource(value, **extra):
    return {'type': 'OS::Heat::TestResource',
            'properties': dict(value=value, **extra)}


def template(resources, outputs, parameters=None):
    return {'heat_template_version': '2021-04-16',
            'parameters': parameters or {}, 'resources': resources,
            'outputs': {k: {'value': v} for k, v in outputs.items()}}


# Expressions in resource names, a parameter, outputs and a nested stack.
EXPRESSIONS = template({
    JINJA: test_resource({'get_param': 'text'}),
    YAQL: test_resource({'get_attr': [JINJA, 'output']}),
    RAW: test_resource({'get_attr': [YAQL, 'output']}),
    TOKEN: test_resource({'get_attr': [JINJA, 'output']}),
    # Heat allows only "_-." besides letters and digits in nested stacks'
    # names, which hold the parent resource's name.
    'nested': {'type': 'child.yaml',
               'properties': {'text': {'get_attr': [RAW, 'output']}}},
}, {
    'jinja': {'get_attr': [JINJA, 'output']},
    'nested': {'get_attr': ['nested', 'text']},
    'literal': '{{ 6*7 }} <% 6*7 %>',
}, {'text': {'type': 'string'}})

# The longest names, replaced on update when seed changes.
LONGEST = template({
    'first': test_resource('first'),
    LONG: test_resource({'get_param': 'seed'}, update_replace=True),
    # Two predecessors: a join, whose task name Mistral limits to 208
    # characters.
    LONG_JINJA: dict(test_resource({'get_attr': [LONG, 'output']},
                                   update_replace=True),
                     depends_on=['first']),
}, {'long': {'get_attr': [LONG_JINJA, 'output']}},
    {'seed': {'type': 'string', 'default': 'one'}})


CHILD_TEMPLATE = {
    'heat_template_version': '2021-04-16',
    'parameters': {'text': {'type': 'string'}},
    'resources': {
        CHILD: {'type': 'OS::Heat::TestResource',
                'properties': {'value': {'get_param': 'text'}}},
    },
    'outputs': {'text': {'value': {'get_attr': [CHILD, 'output']}}},
}


def without_ciphertext(task_input):
    """A task's input with the sealed token and receipts left out.

    Their base64 text can hold any short mark ("x42") by chance; what
    they hold is encrypted, and ``test_security`` checks it.
    """
    found = dict(task_input)
    for key in ('token', 'receipt'):
        found.pop(key, None)
    found['data'] = sorted(found.get('data') or {})
    return found


class TemplateTextChecks:
    """The checks of this module, for a FunctionalTest on any cloud.

    ``tests/functional_restart/test_postgresql.py`` runs them on a cloud
    restarted on PostgreSQL.
    """

    def write_templates(self):
        """Write the templates into a temporary folder: ``self.files``."""
        folder = self.useFixture(fixtures.TempDir()).path
        self.files = {}
        for name, content in (('expressions.yaml', EXPRESSIONS),
                              ('longest.yaml', LONGEST),
                              ('child.yaml', CHILD_TEMPLATE)):
            self.files[name] = os.path.join(folder, name)
            with open(self.files[name], 'w') as f:
                yaml.safe_dump(content, f)

    # -- checks --------------------------------------------------------
    def assert_no_user_text_in_mistral(self, stack_id):
        """The stack's workflow definitions and every task's input."""
        name = 'heat_stack_%s' % stack_id
        executions = self.executions(stack_id)
        self.assertTrue(executions)
        for execution in executions:
            execution = self.wait_for_execution(execution.id)
            self.assertEqual('SUCCESS', execution.state,
                             execution.state_info)
            self.assert_definition_holds_no_user_text(execution, name)
            tasks = self.mistral.tasks.list(
                workflow_execution_id=execution.id, limit=-1)
            self.assertTrue(tasks)
            for task in tasks:
                self.assertRegex(task.name, SAFE_TASK_NAME)
                for action in self.mistral.action_executions.list(task.id):
                    action = self.mistral.action_executions.get(action.id)
                    task_input = json.loads(action.input)
                    if action.name == 'heat.run_node':
                        self.assertEqual(RUN_NODE_INPUT, set(task_input))
                    self.assert_no_user_text(
                        json.dumps(without_ciphertext(task_input)),
                        '%s of %s' % (task.name, execution.id), NAME_MARKS)

    def assert_definition_holds_no_user_text(self, execution, name):
        # Each traversal has a definition of its own; those of ended
        # traversals are deleted when the next one starts.
        try:
            text = self.mistral.workflows.get(
                execution.workflow_id).definition
        except mistral_base.APIException as exc:
            if exc.error_code != 404:
                raise
            return
        definition = yaml.safe_load(text)[name]
        # Mistral does not evaluate the description, which names the stack.
        definition.pop('description', None)
        self.assert_no_user_text(json.dumps(definition), name)

    def assert_no_user_text(self, text, where, more=()):
        for mark in USER_MARKS + EVALUATED + more:
            self.assertNotIn(mark, text, where)

    # -- whole cases ---------------------------------------------------
    def check_expressions_stay_text(self):
        """Names, a parameter and outputs in Jinja and YAQL stay text."""
        stack = self.create_stack(self.files['expressions.yaml'],
                                  {'text': PARAMETER})
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual({JINJA, YAQL, RAW, TOKEN, 'nested'},
                         set(self.resources(stack.id)))
        self.assertEqual(PARAMETER, self.heat.resources.get(
            stack.id, TOKEN).attributes['output'])
        self.assertEqual({'jinja': PARAMETER, 'nested': PARAMETER,
                          'literal': '{{ 6*7 }} <% 6*7 %>'},
                         self.outputs(stack.id))
        nested = self.resources(stack.id)['nested'].physical_resource_id
        self.assertEqual({CHILD}, set(self.resources(nested)))
        self.assert_no_user_text_in_mistral(stack.id)
        self.assert_no_user_text_in_mistral(nested)
        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack.id))
        self.assert_no_user_text_in_mistral(stack.id)

    def check_longest_names(self):
        """255-character names create, replace and delete."""
        stack = self.create_stack(self.files['longest.yaml'])
        self.assertEqual('CREATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual({'first', LONG, LONG_JINJA},
                         set(self.resources(stack.id)))
        self.assertEqual({'long': 'one'}, self.outputs(stack.id))
        old = {name: self.resources(stack.id)[name].physical_resource_id
               for name in (LONG, LONG_JINJA)}

        base.openstack('stack', 'update', '-t', self.files['longest.yaml'],
                       '--parameter', 'seed=two', '--wait', stack.id,
                       parse=False)
        stack = self.heat.stacks.get(stack.id)
        self.assertEqual('UPDATE_COMPLETE', stack.stack_status,
                         stack.stack_status_reason)
        self.assertEqual({'long': 'two'}, self.outputs(stack.id))
        for name in (LONG, LONG_JINJA):
            self.assertNotEqual(
                old[name], self.resources(stack.id)[name].physical_resource_id)
        update = self.execution_of(stack.id, 'UPDATE')
        names = sorted(t.name for t in self.mistral.tasks.list(
            workflow_execution_id=update.id, limit=-1))
        # The 255-character resource's update (which replaced it) and
        # cleanup (which deleted the old one), named with its row's id.
        long_tasks = [n for n in names if n.startswith('L' * 100)]
        self.assertEqual(2, len(long_tasks), names)
        self.assertEqual(long_tasks[0] + '_cleanup', long_tasks[1])
        self.assert_no_user_text_in_mistral(stack.id)

        self.assertEqual('DELETE_COMPLETE', self.delete_stack(stack.id))
        self.assert_no_user_text_in_mistral(stack.id)


class TemplateTextTest(TemplateTextChecks, base.FunctionalTest):

    def setUp(self):
        super().setUp()
        self.write_templates()

    def test_expressions_in_names_parameters_and_outputs_stay_text(self):
        self.check_expressions_stay_text()

    def test_longest_names_create_replace_and_delete(self):
        self.check_longest_names()


class MistralKeepsDataInertTest(base.FunctionalTest):
    """What the compiler relies on, checked on the cloud's Mistral.

    Text in a definition's task input is evaluated; the same text given
    as an execution's input, published from a result, or handed to a
    sub-workflow through an expression whose text the definition writes
    (as before hooks get their resource) stays text.
    """

    def test_only_the_definition_is_evaluated(self):
        name = 'ft_inert_%s' % uuid.uuid4().hex[:8]
        sub = name + '_sub'
        self.mistral.workflows.create(yaml.safe_dump({
            'version': '2.0',
            sub: {'input': ['resource'], 'tasks': {'echo': {
                'action': 'std.echo',
                'input': {'output': '{{ _.resource }}'}}}},
            name: {
                'description': 'kept {{ 6*7 }}',
                'input': ['text', 'token', {'resources': {}}],
                'tasks': {
                    'written': {'action': 'std.echo',
                                'input': {'output': '{{ 6*7 }}'},
                                'on-success': ['given']},
                    'given': {'action': 'std.echo',
                              'input': {'output': '{{ _.text }}'},
                              'publish': {'was': '{{ task().result }}'},
                              'on-success': ['published']},
                    'published': {'action': 'std.echo',
                                  'input': {'output': '{{ _.was }}'},
                                  'on-success': ['hook']},
                    'hook': {'workflow': sub, 'input': {
                        'resource': '{{ _.resources["update:1"] }}'}},
                }}}))
        self.addCleanup(self.mistral.workflows.delete, sub)
        self.addCleanup(self.mistral.workflows.delete, name)
        text = 'x{{ 6*7 }} <% 6*7 %> {{ _.token }} {% raw %}'
        resource = {'name': text, 'type': text, 'stack_name': text}
        execution = self.mistral.executions.create(
            name, workflow_input={'text': text, 'token': 'secret',
                                  'resources': {'update:1': resource}},
            description='kept {{ 6*7 }}')
        self.addCleanup(self.mistral.executions.delete, execution.id)
        execution = self.wait_for_execution(execution.id)
        self.assertEqual('SUCCESS', execution.state, execution.state_info)
        self.assertEqual('kept {{ 6*7 }}', execution.description)
        outputs = {}
        tree = {ex.id: ex for ex in self.mistral.executions.list(
            root_execution_id=execution.id, limit=-1)}
        tree[execution.id] = execution
        for ex in tree.values():
            for task in self.mistral.tasks.list(workflow_execution_id=ex.id,
                                                limit=-1):
                task = self.mistral.tasks.get(task.id)
                if task.name != 'hook':
                    outputs[task.name] = json.loads(task.result)
        self.assertEqual({'written': 42, 'given': text, 'published': text,
                          'echo': resource}, outputs)
