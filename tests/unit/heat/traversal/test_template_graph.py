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

import io
import json
import os
import types

import fixtures
from heat.common import exception as heat_exception
from heat.engine import service as heat_service

from heat_mistral_engine.cli import commands as cli_commands
from heat_mistral_engine.heat.traversal import template_graph
from tests.unit import base
from tests.unit import template_cases

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
UNIT_TEMPLATES = os.path.join(TESTS, 'unit', 'templates')
FUNCTIONAL_TEMPLATES = os.path.join(TESTS, 'functional', 'templates')
EXAMPLES = os.path.join(os.path.dirname(TESTS), 'examples')


def read(path):
    with open(path) as f:
        return f.read()


def load(path, **kwargs):
    return template_graph.load_stack(read(path), **kwargs)


HOSTED = """
heat_template_version: 2021-04-16-hosted
resources:
  host: {type: OS::Heat::None}
  app: {type: OS::Heat::None, hosted_on: %s}
"""


class EdgeKindsTest(base.TestCase):

    def test_every_kind_is_labelled(self):
        stack = load(os.path.join(UNIT_TEMPLATES, 'kinds.yaml'))
        self.assertEqual(
            [('config', 'app', ('get_attr', 'metadata')),
             ('host', 'app', ('get_attr', 'hosted_on')),
             ('config', 'deployment', ('get_resource',)),
             ('host', 'deployment', ('get_resource', 'hosted_on')),
             ('app', 'report', ('depends_on', 'get_resource'))],
            [(e.source, e.target, e.kinds)
             for e in template_graph.edges(stack)])

    def test_software_components(self):
        stack = load(os.path.join(FUNCTIONAL_TEMPLATES, 'software.yaml'))
        self.assertEqual(
            [('base_config', 'app', ('get_attr', 'get_resource')),
             ('host', 'app', ('hosted_on',)),
             ('host', 'base_config', ('get_attr',)),
             ('app', 'monitor', ('get_resource',)),
             ('host', 'monitor', ('hosted_on',))],
            [(e.source, e.target, e.kinds)
             for e in template_graph.edges(stack)])
        self.assertEqual('OS::Heat::SoftwareComponent',
                         template_graph.task_graph(stack).node(
                             (1, True)).resource_type)

    def test_a_false_condition_leaves_the_resource_out(self):
        path = os.path.join(UNIT_TEMPLATES, 'kinds.yaml')
        self.assertNotIn('extra', load(path).resources)
        stack = load(path, parameters={'with_extra': 'true'})
        self.assertIn(('host', 'extra', ('depends_on',)),
                      [(e.source, e.target, e.kinds)
                       for e in template_graph.edges(stack)])


class SameEdgesAsHeatTest(base.TestCase):
    """The compiled graph has exactly Heat's dependency edges."""

    TEMPLATES = [os.path.join(EXAMPLES, 'two-tier.yaml')] + [
        os.path.join(FUNCTIONAL_TEMPLATES, name)
        for name in sorted(os.listdir(FUNCTIONAL_TEMPLATES))]

    def stacks(self):
        """(label, stack) for every template the tests know."""
        for path in self.TEMPLATES:
            yield path, load(path)
        # The unit cases, each with its environment and files.
        for name in template_cases.names():
            yield name, template_cases.load(name)

    def test_create_and_delete(self):
        for label, stack in self.stacks():
            expected = template_cases.heat_edges(stack)
            self.assertEqual(expected,
                             template_cases.compiled_edges(stack, 'CREATE'),
                             label)
            self.assertEqual({(b, a) for a, b in expected},
                             template_cases.compiled_edges(stack, 'DELETE'),
                             label)
            self.assertEqual(len(stack.resources),
                             len(template_graph.task_graph(stack)), label)

    def test_every_unit_template_is_a_case(self):
        self.assertIn('kinds', template_cases.names())
        self.assertNotIn('nested.env', template_cases.names())


class HostedOnTest(base.TestCase):

    def test_host_is_created_first(self):
        stack = template_graph.load_stack(HOSTED % 'host')
        self.assertEqual([('host', 'app', ('hosted_on',))],
                         [(e.source, e.target, e.kinds)
                          for e in template_graph.edges(stack)])

    def test_unknown_host_is_refused_like_depends_on(self):
        stack = template_graph.load_stack(HOSTED % 'nowhere')
        exc = self.assertRaises(heat_exception.InvalidTemplateReference,
                                lambda: stack.dependencies)
        self.assertEqual('The specified reference "nowhere" (in app) is '
                         'incorrect.', str(exc))

    def test_cycle_is_refused_like_depends_on(self):
        text = (HOSTED % 'host').replace(
            'host: {type: OS::Heat::None}',
            'host: {type: OS::Heat::None, depends_on: app}')
        stack = template_graph.load_stack(text)
        # Heat finds cycles when it orders the graph.
        exc = self.assertRaises(heat_exception.CircularDependencyException,
                                lambda: list(stack.dependencies))
        self.assertIn('Circular Dependency Found', str(exc))

    def test_other_versions_do_not_know_hosted_on(self):
        text = (HOSTED % 'host').replace('2021-04-16-hosted', '2021-04-16')
        stack = template_graph.load_stack(text)
        exc = self.assertRaises(heat_exception.StackValidationFailed,
                                lambda: stack.dependencies)
        self.assertIn('Invalid keyword(s) inside a resource definition: '
                      'hosted_on', str(exc))

    def test_template_version_list_still_works(self):
        versions = heat_service.EngineService(
            'host', 'topic').list_template_versions(None)
        aliases = {alias for v in versions for alias in v['aliases']}
        self.assertIn('heat_template_version.2021-04-16-hosted', aliases)
        self.assertIn('heat_template_version.2021-04-16',
                      [v['version'] for v in versions])


class GraphCommandTest(base.TestCase):

    def run_cli(self, *argv):
        out, self.err = io.StringIO(), io.StringIO()
        app = types.SimpleNamespace(stdout=out, stderr=self.err)
        command = cli_commands.Graph(app, None)
        args = command.get_parser('heat-mistral-engine graph').parse_args(
            list(argv))
        return command.run(args), out.getvalue()

    def test_json(self):
        status, out = self.run_cli(os.path.join(EXAMPLES, 'two-tier.yaml'))
        self.assertEqual(0, status)
        data = json.loads(out)
        self.assertIn({'name': 'database', 'type': 'OS::Heat::TestResource'},
                      data['tasks'])
        self.assertIn({'from': 'database', 'to': 'app1',
                       'kinds': ['get_attr']}, data['edges'])

    def test_delete_reverses_edges(self):
        status, out = self.run_cli(os.path.join(EXAMPLES, 'two-tier.yaml'),
                                   '--action', 'DELETE')
        self.assertIn({'from': 'app1', 'to': 'database',
                       'kinds': ['get_attr']}, json.loads(out)['edges'])

    def test_dot_and_yaml(self):
        path = os.path.join(UNIT_TEMPLATES, 'kinds.yaml')
        _status, dot = self.run_cli(path, '--format', 'dot')
        self.assertIn('"host" -> "app" [label="get_attr,hosted_on"];', dot)
        _status, text = self.run_cli(path, '--format', 'yaml')
        self.assertIn('action: heat.run_node', text)
        self.assertIn('- kinds:app:get_attr,hosted_on', text)
        self.assertIn('heat_stack_STACK_ID:', text)

    def test_bad_template_names_the_file_and_the_reference(self):
        path = self.useFixture(fixtures.TempDir()).join('bad.yaml')
        with open(path, 'w') as f:
            f.write(HOSTED % 'nowhere')
        status, _out = self.run_cli(path)
        self.assertEqual(2, status)
        self.assertIn('bad.yaml: The specified reference "nowhere" (in app) '
                      'is incorrect.', self.err.getvalue())

    def test_operator_hooks(self):
        hooks_dir = os.path.join(EXAMPLES, 'operator-hooks')
        args = (os.path.join(hooks_dir, 'stack.yaml'), '--hooks',
                os.path.join(hooks_dir, 'hooks.yaml'))
        status, out = self.run_cli(*args)
        self.assertEqual(0, status)
        self.assertIn({'resource': 'web', 'when': 'after',
                       'hook': 'cmdb_test_resources',
                       'workflow': 'register_in_cmdb',
                       'actions': ['create', 'update']},
                      json.loads(out)['hooks'])
        _status, dot = self.run_cli(*args, '--format', 'dot')
        self.assertIn('"web" -> "web after cmdb_test_resources" '
                      '[style=dashed];', dot)
        _status, text = self.run_cli(*args, '--format', 'yaml')
        self.assertIn('web__after__cmdb_test_resources:', text)
        self.assertIn('workflow: register_in_cmdb', text)
        # No hooks for a delete of these resources.
        _status, out = self.run_cli(*args, '--action', 'DELETE')
        self.assertEqual([], json.loads(out)['hooks'])

    def test_bad_hooks_file(self):
        path = self.useFixture(fixtures.TempDir()).join('hooks.yaml')
        with open(path, 'w') as f:
            f.write('hooks: [{workflow: w, when: never}]')
        status, _out = self.run_cli(os.path.join(EXAMPLES, 'two-tier.yaml'),
                                    '--hooks', path)
        self.assertEqual(2, status)
        self.assertIn('hooks.yaml, entry 1 (w): "when" must be one of',
                      self.err.getvalue())

    def test_bad_parameter_syntax(self):
        status, _out = self.run_cli(os.path.join(EXAMPLES, 'two-tier.yaml'),
                                    '-P', 'app_count')
        self.assertEqual(2, status)
