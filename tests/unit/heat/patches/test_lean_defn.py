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

"""A node sees the same stack with and without lean definitions.

For every unit template case (and a few templates written here for what the
cases lack: CFN, computed resource names, outputs), the stack a node loads
is built twice from the same template and node data: once with Heat's own
methods, once inside a node scope with the lean ones. Everything a node
reads is compared resource by resource: its definition, its dependencies,
its resolved properties and metadata (get_attr / get_resource through the
node data), conditions, the attributes other resources and outputs read
from it, and the outputs.
"""

import collections
import copy
import inspect
from unittest import mock

import cachetools
import fixtures

from heat.engine import node_data
from heat.engine import resource
from heat.engine import stack as heat_stack
from heat.engine import stk_defn
from heat.engine import template as heat_template

from heat_mistral_engine.heat.patches import heat_release
from heat_mistral_engine.heat.patches import lean_defn
from heat_mistral_engine.heat.node import runner as node_runner
from tests.unit import base
from tests.unit import template_cases

# Cases whose resources have conditions: Heat's full parse is kept.
CONDITIONAL_CASES = {'conditions', 'kinds'}

CFN = {
    'AWSTemplateFormatVersion': '2010-09-09',
    'Parameters': {'Name': {'Type': 'String', 'Default': 'x'}},
    'Resources': {
        'first': {'Type': 'OS::Heat::TestResource'},
        'second': {
            'Type': 'OS::Heat::TestResource',
            'Properties': {'value': {'Fn::Join': ['-', [
                {'Fn::GetAtt': ['first', 'output']}, {'Ref': 'first'},
                {'Ref': 'Name'}]]}}},
        'third': {'Type': 'OS::Heat::None', 'DependsOn': ['second']},
    },
    'Outputs': {'out': {'Value': {'Fn::GetAtt': ['second', 'output']}}},
}

COMPUTED = {
    'heat_template_version': '2021-04-16',
    'parameters': {'target': {'type': 'string', 'default': 'first'}},
    'resources': {
        'first': {'type': 'OS::Heat::TestResource'},
        'second': {'type': 'OS::Heat::TestResource'},
        # Names the resource it reads through a parameter: no string in
        # its snippet equals 'first'.
        'dynamic': {'type': 'OS::Heat::Value', 'properties': {
            'value': {'get_attr': [{'get_param': 'target'}, 'output']}}},
        'everything': {'type': 'OS::Heat::None', 'metadata': {
            'all': {'get_attr': ['second']}}},
        'literal': {'type': 'OS::Heat::Value', 'properties': {
            'value': {'str_replace': {
                'template': 'first and second',
                'params': {'x': {'get_attr': ['second', 'output']}}}}}},
    },
    'outputs': {
        'both': {'value': [{'get_attr': ['first', 'output']},
                           {'get_resource': 'second'}]},
        'show': {'value': {'get_attr': ['literal', 'show']}},
    },
}


class _Attributes(dict):
    """Node data attributes: any attribute of any resource has a value."""

    def __init__(self, name):
        super().__init__(output='%s-output' % name, value='%s-value' % name)
        self.name = name

    def __missing__(self, key):
        return '%s-%s' % (self.name, key)


def _node_data(names):
    return {name: node_data.NodeData(
        i, name, 'uuid-%s' % name, 'ref-%s' % name, _Attributes(name),
        'CREATE', 'COMPLETE') for i, name in enumerate(sorted(names), 1)}


def _outcome(call, *args):
    """A comparable result or the error it raised (type and message)."""
    try:
        return 'ok', call(*args)
    except Exception as exc:
        return 'error', type(exc).__name__, str(exc)


class NodeView:
    """What a node can see of one stack, as plain comparable values."""

    def __init__(self, source_stack):
        tmpl = source_stack.t
        self.names = sorted(tmpl.t.get(tmpl.RESOURCES) or {})
        # A fresh stack like the one Stack.load(cache_data=...) builds for
        # a node: nothing parsed yet, predecessors' data from Mistral.
        self.stack = heat_stack.Stack(
            source_stack.context, source_stack.name,
            heat_template.Template(tmpl.t, files=tmpl.files, env=tmpl.env),
            stack_id='5ba1ab5e-0000-4000-8000-000000000000',
            cache_data=_node_data(self.names))
        self.stack.thread_group_mgr = node_runner.INLINE_EVENTS

    @property
    def defn(self):
        return self.stack.defn

    def resource(self, name):
        """The Resource as Resource.load builds it for a node."""
        definition = self.defn.resource_definition(name)
        cls = self.defn.env.registry.get_class_to_instantiate(
            definition.resource_type, resource_name=name)
        return cls(name, definition, self.stack)

    def seen(self):
        view = {'enabled': _outcome(self.defn.enabled_rsrc_names)}
        for name in self.names:
            view[name] = self.seen_by(name)
        outputs = _outcome(self.defn.enabled_output_names)
        view['outputs'] = outputs
        if outputs[0] == 'ok':
            for out in sorted(outputs[1]):
                view['output %s' % out] = _outcome(
                    lambda o: self.defn.output_definition(o).get_value(),
                    out)
        return view

    def seen_by(self, name):
        try:
            definition = self.defn.resource_definition(name)
        except KeyError:
            return 'disabled'
        rsrc = self.resource(name)
        seen = {
            'definition': definition,
            'rendered': definition.render_hot(),
            'type': definition.resource_type,
            'condition': definition.condition(),
            'external_id': _outcome(definition.external_id),
            'requires': definition.required_resource_names(),
            'dependencies': _outcome(lambda: sorted(
                r.name for r in definition.dependencies(self.stack))),
            'properties': _outcome(lambda: dict(rsrc.properties)),
            'metadata': _outcome(definition.metadata),
            'proxy': _outcome(lambda: (self.defn[name].FnGetRefId(),
                                       self.defn[name].state)),
        }
        for other in self.names:
            seen['dep_attrs %s' % other] = sorted(
                map(str, definition.dep_attrs(other)))
        for load_all in (False, True):
            for in_outputs in (False, True):
                seen['referenced %s %s' % (load_all, in_outputs)] = _outcome(
                    lambda: sorted(map(str, rsrc.referenced_attrs(
                        in_outputs=in_outputs, load_all=load_all))))
        seen['referenced subset'] = _outcome(lambda: sorted(map(
            str, rsrc.referenced_attrs(in_outputs=['both']))))
        return seen


class LeanTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.assertTrue(lean_defn.install(self.conf.conf))
        self.addCleanup(lean_defn.uninstall)

    def both(self, stack):
        """(Heat's view, lean view, lean StackDefinition) of a stack."""
        heat_view = NodeView(stack)
        heat_seen = heat_view.seen()
        lean_view = NodeView(stack)
        with lean_defn.node_scope():
            lean_seen = lean_view.seen()
        return heat_seen, lean_seen, lean_view.defn


class EquivalenceTest(LeanTestCase):

    def assertSameView(self, stack, label, lean_expected=True):
        heat_seen, lean_seen, lean_stk_defn = self.both(stack)
        self.assertEqual(sorted(heat_seen), sorted(lean_seen), label)
        for key in heat_seen:
            self.assertEqual(heat_seen[key], lean_seen[key],
                             '%s: %s' % (label, key))
        # Prove the lean path ran (Heat never parsed every resource) or,
        # for conditional resources, that Heat's own parse was used.
        self.assertEqual(lean_expected,
                         lean_stk_defn._resource_defns is None, label)

    def test_every_template_case(self):
        for name in template_cases.names():
            self.assertSameView(template_cases.load(name), name,
                                lean_expected=name not in CONDITIONAL_CASES)

    def test_cases_with_other_parameters(self):
        for name, params in (('functions', {'use_first': 'false'}),
                             ('conditions', {'env_type': 'prod'}),
                             ('conditions', {'env_type': 'prod',
                                             'spread': 'true'}),
                             ('kinds', {'with_extra': 'true'})):
            self.assertSameView(
                template_cases.load(name, parameters=params),
                '%s %s' % (name, params),
                lean_expected=name not in CONDITIONAL_CASES)

    def test_cfn_template(self):
        self.assertSameView(heat_stack.Stack(
            template_cases.load('implicit').context, 'cfn',
            heat_template.Template(CFN)), 'cfn')

    def test_computed_names_and_outputs(self):
        stack = heat_stack.Stack(template_cases.load('implicit').context,
                                 'computed', heat_template.Template(COMPUTED))
        self.assertSameView(stack, 'computed')
        # The computed name is followed: 'first' is read by 'dynamic'.
        view = NodeView(stack)
        with lean_defn.node_scope():
            self.assertIn('dynamic', lean_defn.referring_names(
                view.defn, 'first'))
            self.assertEqual({'output'}, view.resource(
                'first').referenced_attrs(in_outputs=False))

    def test_lean_path_parses_only_what_the_node_needs(self):
        stack = template_cases.load('functions')
        view = NodeView(stack)
        tmpl_cls = type(view.defn.t)
        with mock.patch.object(
                tmpl_cls, '_rsrc_defn_args', autospec=True,
                side_effect=tmpl_cls._rsrc_defn_args) as parse:
            with lean_defn.node_scope():
                rsrc = view.resource('third')
                rsrc.referenced_attrs()
        parsed = collections.Counter(call.args[2]
                                     for call in parse.call_args_list)
        # Its own definition, and the resources whose snippets name it.
        self.assertEqual({'third': 1, 'joined': 1, 'repeated': 1,
                          'described': 1}, dict(parsed))


class SharedIndexTest(LeanTestCase):
    """Nodes of one template share the index of who refers to whom."""

    def setUp(self):
        super().setUp()
        lean_defn._referrers_cache.clear()
        self.addCleanup(lean_defn._referrers_cache.clear)
        built = mock.patch.object(lean_defn, '_Referrers',
                                  wraps=lean_defn._Referrers)
        self.built = built.start()
        self.addCleanup(built.stop)

    @staticmethod
    def fresh_view(stack):
        """A node's view of ``stack``, its template decoded anew."""
        tmpl = stack.t
        stack.t = heat_template.Template(copy.deepcopy(tmpl.t),
                                         files=tmpl.files, env=tmpl.env)
        try:
            return NodeView(stack)
        finally:
            stack.t = tmpl

    def referring(self, view, name):
        with lean_defn.node_scope():
            return lean_defn.referring_names(view.defn, name)

    def test_nodes_of_one_template_build_the_index_once(self):
        stack = template_cases.load('functions')
        first, second = self.fresh_view(stack), self.fresh_view(stack)
        self.assertIsNot(lean_defn._raw_resources(first.defn),
                         lean_defn._raw_resources(second.defn))
        found = self.referring(first, 'third')
        self.assertEqual(found, self.referring(second, 'third'))
        self.assertIn('joined', found)
        self.assertEqual(1, self.built.call_count)

    def test_a_changed_snippet_is_indexed_anew(self):
        stack = template_cases.load('functions')
        before = self.fresh_view(stack)
        self.assertNotIn('third', self.referring(before, 'first'))
        changed = self.fresh_view(stack)
        lean_defn._raw_resources(changed.defn)['third'].setdefault(
            'depends_on', []).append('first')
        self.assertIn('third', self.referring(changed, 'first'))
        self.assertEqual(2, self.built.call_count)

    def test_only_the_last_templates_are_kept(self):
        stack = template_cases.load('functions')
        small = cachetools.LRUCache(1)
        self.useFixture(fixtures.MockPatchObject(
            lean_defn, '_class_referrers', cachetools.cached(
                small, key=lean_defn._referrers_key)(
                    lean_defn._class_referrers.__wrapped__)))
        views = [self.fresh_view(stack) for _ in range(3)]
        self.referring(views[0], 'first')
        lean_defn._raw_resources(views[1].defn)['extra'] = {
            'type': 'OS::Heat::None'}
        self.referring(views[1], 'first')
        self.referring(views[2], 'first')   # evicted: built again
        self.assertEqual(3, self.built.call_count)
        self.assertEqual(1, len(small))


class ReferenceFilterTest(LeanTestCase):

    def tmpl(self, version='2021-04-16'):
        return heat_template.Template({'heat_template_version': version,
                                       'resources': {}})

    def refers(self, snippet, name='a'):
        found = lean_defn.may_refer_to(self.tmpl(), snippet, name)
        # The index of a template holding the snippet agrees.
        referrers = lean_defn._Referrers(self.tmpl().functions,
                                         {'holder': snippet})
        self.assertEqual(found, 'holder' in referrers.of(name))
        return found

    def test_literal_name(self):
        self.assertTrue(self.refers({'properties': {'v': {
            'get_attr': ['a', 'x']}}}))
        self.assertTrue(self.refers({'depends_on': ['a']}))
        self.assertFalse(self.refers({'properties': {'v': {
            'get_attr': ['ab', 'x']}}}))
        self.assertFalse(self.refers({'properties': {'v': 'a b'}}))
        # Only a whole string names a resource, quotes in it included.
        self.assertFalse(self.refers({'properties': {'v': 'x"a"'}}))
        self.assertTrue(self.refers({'a': 1}))

    def test_computed_name(self):
        self.assertTrue(self.refers({'properties': {'v': {
            'get_attr': [{'get_param': 'p'}, 'x']}}}))
        self.assertFalse(self.refers({'properties': {'v': {
            'get_param': 'p'}}}))

    def test_unknown_function_class(self):
        class Mine(lean_defn.function.Function):
            def dep_attrs(self, resource_name):
                return iter(())

        tmpl = self.tmpl()
        with mock.patch.dict(type(tmpl).functions, {'mine': Mine}):
            self.assertTrue(lean_defn.may_refer_to(
                tmpl, {'properties': {'v': {'mine': 'p'}}}, 'a'))

    def test_not_json(self):
        snippet = {'properties': {'v': {'get_attr': ('a', 'x')}},
                   ('k',): 1}
        self.assertTrue(lean_defn.may_refer_to(self.tmpl(), snippet, 'a'))
        self.assertFalse(lean_defn.may_refer_to(self.tmpl(), snippet, 'b'))


class ScopeAndOptionTest(LeanTestCase):

    def test_outside_a_node_heat_parses_everything(self):
        view = NodeView(template_cases.load('functions'))
        view.defn.resource_definition('first')
        self.assertIsNotNone(view.defn._resource_defns)

    def test_inside_a_node_only_one(self):
        view = NodeView(template_cases.load('functions'))
        with lean_defn.node_scope():
            view.defn.resource_definition('first')
        self.assertIsNone(view.defn._resource_defns)

    def test_node_runner_runs_nodes_in_scope(self):
        runner = node_runner.NodeRunner('engine', mock.Mock())
        seen = []
        with mock.patch.object(node_runner.traversal_token, 'open_token'), \
                mock.patch.object(node_runner.guard, 'admit'), \
                mock.patch.object(node_runner.claims, 'claim',
                                  return_value=None), \
                mock.patch.object(node_runner.claims, 'finish'), \
                mock.patch.object(
                    runner, '_execute',
                    lambda *args: seen.append(lean_defn.in_node_scope()) or
                    node_runner.Outcome()):
            runner.execute(mock.Mock())
        self.assertEqual([True], seen)
        self.assertFalse(lean_defn.in_node_scope())

    def test_show_stack_runs_in_scope(self):
        seen = []

        def heat_show_stack(engine, cnxt, stack_identity,
                            resolve_outputs=True):
            seen.append((lean_defn.in_node_scope(), stack_identity,
                         resolve_outputs))
            return ['shown']

        key = (lean_defn.service.EngineService, 'show_stack')
        with mock.patch.dict(lean_defn._ORIGINALS, {key: heat_show_stack}):
            self.assertEqual(['shown'], lean_defn.service.EngineService
                             .show_stack(mock.Mock(), 'ctx', 'ident', False))
        self.assertEqual([(True, 'ident', False)], seen)
        self.assertFalse(lean_defn.in_node_scope())

    def test_option_false_leaves_heat_alone(self):
        lean_defn.uninstall()
        native = stk_defn.StackDefinition.resource_definition
        self.conf.config(lean_node_definitions=False,
                         group='mistral_scheduler')
        self.assertFalse(lean_defn.install(self.conf.conf))
        self.assertIs(native, stk_defn.StackDefinition.resource_definition)
        view = NodeView(template_cases.load('functions'))
        with lean_defn.node_scope():
            view.defn.resource_definition('first')
        self.assertIsNotNone(view.defn._resource_defns)

    def test_default_is_on(self):
        self.assertTrue(self.conf.conf.mistral_scheduler.lean_node_definitions)

    def test_install_is_idempotent_and_uninstall_restores(self):
        lean_defn.uninstall()
        native = {(o, n): getattr(o, n) for o, n, _ in lean_defn.REPLACED}
        self.assertTrue(lean_defn.install(self.conf.conf))
        replaced = {(o, n): getattr(o, n) for o, n, _ in lean_defn.REPLACED}
        self.assertTrue(lean_defn.install(self.conf.conf))
        for key, method in replaced.items():
            self.assertIs(method, getattr(*key))
            self.assertIsNot(native[key], method)
        lean_defn.uninstall()
        for key, method in native.items():
            self.assertIs(method, getattr(*key))

    def test_unexpected_heat_release_is_refused(self):
        lean_defn.uninstall()
        native = stk_defn.StackDefinition.resource_definition
        with mock.patch.object(heat_release, 'SUPPORTED_HEAT',
                               ((28, 0), (29, 0))), \
                mock.patch.object(lean_defn.LOG, 'warning') as warning:
            self.assertFalse(lean_defn.install(self.conf.conf))
        self.assertIs(native, stk_defn.StackDefinition.resource_definition)
        self.assertIn('>= 28.0, < 29.0', str(warning.call_args))
        self.assertIn('27.', str(warning.call_args))

    def test_unexpected_signature_is_refused(self):
        lean_defn.uninstall()
        native = resource.Resource.referenced_attrs

        def changed(self, stk_defn=None, in_resources=True):
            pass

        with mock.patch.object(resource.Resource, 'referenced_attrs',
                               changed), \
                mock.patch.object(lean_defn.LOG, 'warning') as warning:
            self.assertFalse(lean_defn.install(self.conf.conf))
            self.assertIs(changed, resource.Resource.referenced_attrs)
        self.assertIs(native, resource.Resource.referenced_attrs)
        self.assertIn('referenced_attrs', str(warning.call_args))

    def test_stack_definition_without_expected_attributes_is_refused(self):
        lean_defn.uninstall()
        with mock.patch.object(lean_defn, 'DEFN_ATTRIBUTES',
                               ('self._template', 'self._gone')), \
                mock.patch.object(lean_defn.LOG, 'warning') as warning:
            self.assertFalse(lean_defn.install(self.conf.conf))
        self.assertFalse(lean_defn.installed())
        self.assertIn('self._gone', str(warning.call_args))

    def test_replaced_signatures_are_heats(self):
        for owner, name, params in lean_defn.REPLACED:
            replacement = getattr(owner, name)
            self.assertEqual(params, tuple(
                inspect.signature(replacement).parameters))
