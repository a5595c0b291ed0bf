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

"""The hooks file parser and the hook matching (graph.operator_hooks)."""

import testtools

from heat_mistral_engine.graph import operator_hooks

GOOD = '''
hooks:
  - workflow: register_in_cmdb
    when: after
    actions: [create, update]
    resource_type: "OS::Heat::Test*"
    attributes: [output]
    input: {owner: ops}
    timeout: 30
  - name: quota
    workflow: check_quota
    when: before
    actions: create
    resource_name: "web*"
'''


class ParseTest(testtools.TestCase):

    def test_good_file(self):
        cmdb, quota = operator_hooks.parse(GOOD, 'hooks.yaml')
        self.assertEqual('register_in_cmdb', cmdb.name)
        self.assertEqual(frozenset(('create', 'update')), cmdb.actions)
        self.assertEqual(('output',), cmdb.attributes)
        self.assertEqual({'owner': 'ops'}, cmdb.input)
        self.assertEqual(30, cmdb.timeout)
        self.assertEqual('quota', quota.name)
        self.assertEqual(frozenset(('create',)), quota.actions)
        self.assertIsNone(quota.resource_type)

    def test_empty_file_has_no_hooks(self):
        self.assertEqual((), operator_hooks.parse('', 'h.yaml'))
        self.assertEqual((), operator_hooks.parse('hooks: []', 'h.yaml'))

    def assertRefused(self, text, *fragments):
        exc = self.assertRaises(operator_hooks.HooksFileError,
                                operator_hooks.parse, text, '/etc/h.yaml')
        for fragment in ('/etc/h.yaml',) + fragments:
            self.assertIn(fragment, str(exc))
        return exc

    def test_bad_yaml_names_the_file(self):
        self.assertRefused('hooks: [', 'not valid YAML')

    def test_bad_yaml_is_one_line_naming_where(self):
        # PyYAML's own text spans five lines and quotes the file's line.
        exc = self.assertRefused('hooks:\n  - a: b\n - c\n')
        self.assertEqual('/etc/h.yaml is not valid YAML: expected <block '
                         'end>, but found \'<block sequence start>\' at '
                         'line 3, column 2', str(exc))

    def test_top_level_must_be_hooks(self):
        self.assertRefused('other: 1', 'single key "hooks"')
        self.assertRefused('hooks: {a: 1}', 'must be a list')

    def entry(self, **changes):
        entry = {'workflow': 'wf', 'when': 'after', 'actions': ['create'],
                 'resource_type': '*'}
        entry.update(changes)
        return 'hooks:\n  - {w: x}\n  - %s\n' % (
            {k: v for k, v in entry.items() if v is not None},)

    def test_entries_are_named_by_position_and_name(self):
        text = ('hooks:\n  - {workflow: ok, when: after, actions: [create], '
                'resource_type: "*"}\n  - {workflow: wf, when: later, '
                'actions: [create], resource_type: "*"}\n')
        self.assertRefused(text, 'entry 2 (wf)', '"when" must be one of')

    def test_unknown_key(self):
        self.assertRefused(
            'hooks:\n  - {workflow: wf, when: after, actions: [create], '
            'resource_type: "*", retries: 3}\n', 'entry 1 (wf)',
            'unknown key(s) retries')

    def test_bad_values(self):
        base = ('hooks:\n  - {workflow: wf, when: after, actions: [create], '
                'resource_type: "*", %s}\n')
        for extra, message in (
                ('timeout: 0', '"timeout"'),
                ('timeout: true', '"timeout"'),
                ('input: [1]', '"input"'),
                ('input: {resource: 1}', 'may not set "resource"'),
                ('attributes: x', '"attributes"'),
                ('name: "a b"', '"name"')):
            self.assertRefused(base % extra, 'entry 1', message)
        self.assertRefused(
            'hooks:\n  - {workflow: wf, when: after, actions: [start], '
            'resource_type: "*"}\n', '"actions"')
        self.assertRefused(
            'hooks:\n  - {workflow: wf, when: after, actions: [create]}\n',
            'give "resource_type" or "resource_name"')
        self.assertRefused(
            'hooks:\n  - {workflow: "a b", when: after, actions: [create], '
            'resource_type: "*"}\n', '"workflow"')

    def test_attributes_only_after_create_or_update(self):
        self.assertRefused(
            'hooks:\n  - {workflow: wf, when: before, actions: [create], '
            'resource_type: "*", attributes: [a]}\n', 'only known after')
        self.assertRefused(
            'hooks:\n  - {workflow: wf, when: after, actions: [delete], '
            'resource_type: "*", attributes: [a]}\n', 'only known after')

    def test_duplicate_names(self):
        self.assertRefused(
            'hooks:\n  - {workflow: wf, when: after, actions: [create], '
            'resource_type: "*"}\n  - {workflow: wf, when: after, actions: '
            '[update], resource_type: "*"}\n', 'entry 2', 'same name')


class MatchTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cmdb, self.quota = operator_hooks.parse(GOOD, 'h.yaml')

    def test_patterns_and_actions(self):
        self.assertTrue(self.cmdb.matches('x', 'OS::Heat::TestResource'))
        self.assertFalse(self.cmdb.matches('x', 'OS::Heat::None'))
        self.assertFalse(self.cmdb.matches('x', 'OS::Heat::TestResource',
                                           'delete'))
        self.assertTrue(self.quota.matches('web1', 'OS::Nova::Server'))
        self.assertFalse(self.quota.matches('db', 'OS::Nova::Server'))

    def test_both_patterns_must_match(self):
        (hook,) = operator_hooks.parse(
            'hooks:\n  - {workflow: wf, when: after, actions: [create], '
            'resource_type: "OS::*", resource_name: "web*"}\n')
        self.assertTrue(hook.matches('web', 'OS::Nova::Server'))
        self.assertFalse(hook.matches('db', 'OS::Nova::Server'))
        self.assertFalse(hook.matches('web', 'My::Server'))

    def test_matching_by_when_and_action(self):
        hooks = (self.cmdb, self.quota)
        self.assertEqual([self.cmdb], operator_hooks.matching(
            hooks, 'web', 'OS::Heat::TestResource', 'after'))
        self.assertEqual([self.quota], operator_hooks.matching(
            hooks, 'web', 'OS::Heat::TestResource', 'before', ('create',)))
        self.assertEqual([], operator_hooks.matching(
            hooks, 'web', 'OS::Heat::TestResource', 'before', ('update',)))
        self.assertEqual(['output'], operator_hooks.attributes_wanted(
            hooks, 'web', 'OS::Heat::TestResource', 'create'))
        self.assertEqual([], operator_hooks.attributes_wanted(
            hooks, 'web', 'OS::Heat::TestResource', 'delete'))


class InputProblemTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cmdb = operator_hooks.parse(GOOD, 'h.yaml')[0]

    def test_accepted(self):
        self.assertIsNone(operator_hooks.input_problem(
            self.cmdb, ['resource', 'owner', {'dry_run': False}]))

    def test_input_not_declared(self):
        problem = operator_hooks.input_problem(self.cmdb, ['resource'])
        self.assertIn('does not accept the input owner', problem)
        self.assertIn('register_in_cmdb', problem)

    def test_required_input_not_passed(self):
        problem = operator_hooks.input_problem(
            self.cmdb, ['resource', 'owner', 'site'])
        self.assertIn('requires the input site', problem)
