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

"""The package layout: no import circle, and dependencies run one way.

doc/source/architecture.rst ("Layout") describes the order; this test
keeps the code to it. Imports inside functions count too, and are allowed
only where ``FUNCTION_IMPORTS`` lists them (each says why in the code).
"""

import ast
import os

import testtools

import heat_mistral_engine

ROOT = os.path.dirname(os.path.abspath(heat_mistral_engine.__file__))
PACKAGE = 'heat_mistral_engine'
HEAT = PACKAGE + '.heat'

# The packages of heat_mistral_engine.heat, lowest first: a module may
# import from its own package and from the packages before it, never
# from one after it.
ORDER = ('cache', 'clients', 'store', 'patches', 'resources',
         'operator_hooks', 'traversal', 'node', 'recovery', 'startup',
         'api')
# What heat_mistral_engine.heat's modules may import outside it.
BASE = ('heat_mistral_engine.config', 'heat_mistral_engine.protocol',
        'heat_mistral_engine.execution_link', 'heat_mistral_engine.graph')
# Modules directly in heat_mistral_engine/heat: paths kept for others.
SHIMS = ('plugin', 'hosted_template')
# (module, imported module) allowed inside a function.
FUNCTION_IMPORTS = {
    (HEAT + '.startup.plugin', HEAT + '.clients.mistral_api'),
    (HEAT + '.startup.plugin', HEAT + '.startup.wiring'),
    (HEAT + '.startup.plugin', HEAT + '.patches.environment'),
    (HEAT + '.startup.plugin', HEAT + '.resources.mistral_hook'),
    (PACKAGE + '.cli.commands', PACKAGE + '.cli.graph'),
    (PACKAGE + '.cli.commands', PACKAGE + '.cli.orphans'),
    (HEAT + '.startup.plugin', HEAT + '.patches.validate_warnings'),
}


def modules():
    """{module name: path} of every module of the package."""
    found = {}
    for folder, _dirs, files in os.walk(ROOT):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path[:-3], os.path.dirname(ROOT))
                module = parts.replace(os.sep, '.')
                if module.endswith('.__init__'):
                    module = module[:-len('.__init__')]
                found[module] = path
    return found


def imports(known):
    """{module: {imported module: inside a function?}} within the package."""
    graph = {}
    for module, path in known.items():
        with open(path) as source:
            tree = ast.parse(source.read())
        found = graph[module] = {}
        _visit(tree, known, found, False)
    return graph


def _visit(node, known, found, in_function):
    for child in ast.iter_child_nodes(node):
        inner = in_function or isinstance(
            child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        names = []
        if isinstance(child, ast.Import):
            names = [alias.name for alias in child.names]
        elif isinstance(child, ast.ImportFrom) and child.module:
            names = [child.module + '.' + alias.name
                     for alias in child.names]
            names = [n if n in known else child.module for n in names]
        for name in names:
            if name in known:
                found[name] = found.get(name, False) or inner
        _visit(child, known, found, inner)


def cycles(graph):
    """The strongly connected components of more than one module."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def rank(module):
    """Position of a heat_mistral_engine.heat module's package in ORDER."""
    package = module[len(HEAT) + 1:].split('.')[0]
    return ORDER.index(package) if package in ORDER else None


class LayoutTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.known = modules()
        self.graph = imports(self.known)

    def test_no_import_circle(self):
        self.assertEqual([], cycles(self.graph))

    def test_heat_packages_import_one_way(self):
        wrong = []
        for module, targets in sorted(self.graph.items()):
            if not module.startswith(HEAT + '.') or rank(module) is None:
                continue
            for target in sorted(targets):
                if target.startswith(HEAT + '.'):
                    allowed = (rank(target) is not None and
                               rank(target) <= rank(module))
                else:
                    allowed = target.startswith(BASE)
                if not allowed:
                    wrong.append((module, target))
        self.assertEqual([], wrong)

    def test_each_heat_module_has_a_package(self):
        loose = sorted(m[len(HEAT) + 1:] for m in self.known
                       if m.startswith(HEAT + '.') and '.' not in
                       m[len(HEAT) + 1:] and m[len(HEAT) + 1:] not in ORDER)
        self.assertEqual(sorted(SHIMS), loose)

    def test_imports_inside_functions_are_the_listed_ones(self):
        inside = {(module, target)
                  for module, targets in self.graph.items()
                  for target, in_function in targets.items()
                  if in_function}
        self.assertEqual(FUNCTION_IMPORTS, inside)
