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

"""The requirement files name what the code imports, within the constraints.

requirements.txt lists every third-party distribution heat_mistral_engine
imports, test-requirements.txt what the tests import beyond that, and
neither lists a distribution nothing imports. An import missing from them
works only while another distribution happens to bring it in. Imports
inside functions count too. Modules are mapped to distributions with
importlib.metadata.packages_distributions(), so these tests run where the
requirement files are installed (tox -e py3).

tox and tools/devcloud install within OpenStack's upper-constraints of
Heat 27's series (tools/constraints/); the declared requirements must admit
the versions it pins.

The package's own metadata: built by pbr's PEP 517 backend from
pyproject.toml, refusing every Python that Heat refuses, Apache-2.0.
"""

import ast
import configparser
import importlib.metadata
import os
import re
import sys
import tomllib

import fixtures
from packaging import requirements
from packaging import specifiers
from packaging import utils as packaging_utils
import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PACKAGE = 'heat_mistral_engine'
FIRST_PARTY = frozenset((PACKAGE, 'tests'))
CONSTRAINTS = 'tools/constraints/upper-constraints-2026.2.txt'
TOX_CONSTRAINTS = '-c{env:TOX_CONSTRAINTS_FILE:{toxinidir}/%s}' % CONSTRAINTS

# Imported without being declared: (top-level module, folder of the
# importing files) -> why.
HOST_PROVIDED = {
    ('mistral', 'heat_mistral_engine/mistral'):
        'runs only inside the Mistral services, which bring Mistral; '
        'declaring it would install a whole Mistral next to heat-engine',
}
# Declared without being imported: distribution -> why.
NOT_IMPORTED = {
    'stestr': 'the test runner tox calls',
}
# Installed from the package index and pinned where they are installed
# (requirements.txt, tools/devcloud_lib/settings.sh): service projects,
# which upper-constraints never lists.
SERVICES = ('openstack-heat', 'mistral', 'keystone')


def python_files(top):
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(files):
            if name.endswith('.py'):
                yield os.path.join(folder, name)


def third_party_imports(top, root=ROOT):
    """{top-level module: {importing file, relative to root}} under top.

    Leaves out the standard library, the first-party packages, relative
    imports, and modules next to the importing file (scripts that run as
    ``python path/to/check.py`` import their neighbours by name).
    """
    found = {}
    for path in python_files(top):
        with open(path) as source:
            tree = ast.parse(source.read(), path)
        folder = os.path.dirname(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                module = name.split('.')[0]
                if (module in sys.stdlib_module_names or
                        module in FIRST_PARTY or
                        os.path.exists(os.path.join(folder, module + '.py'))
                        or os.path.isdir(os.path.join(folder, module))):
                    continue
                found.setdefault(module, set()).add(
                    os.path.relpath(path, root))
    return found


def requirement_lines(path):
    """The Requirements of a requirement or constraints file, in order."""
    with open(path) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line and not line.startswith('-'):
                yield requirements.Requirement(line)


def declared(*paths):
    """{normalised distribution name: Requirement} of requirement files."""
    return {packaging_utils.canonicalize_name(req.name): req
            for path in paths for req in requirement_lines(path)}


def undeclared(imports, names, distributions):
    """The problems of ``imports`` against the declared ``names``.

    ``distributions`` maps a top-level module to the distributions that
    provide it (importlib.metadata.packages_distributions()).
    """
    problems = []
    for module, files in sorted(imports.items()):
        dists = {packaging_utils.canonicalize_name(d)
                 for d in distributions.get(module, ())}
        if dists & set(names):
            continue
        allowed = [folder for (name, folder) in HOST_PROVIDED
                   if name == module]
        files = sorted(f for f in files if not any(
            f.startswith(folder + '/') for folder in allowed))
        if not files:
            continue
        problems.append('%s (%s), imported by %s' % (
            module, ', '.join(sorted(dists)) or 'no installed distribution',
            ', '.join(files)))
    return problems


def unimported(imports, names, distributions):
    """The declared ``names`` that no module of ``imports`` belongs to."""
    used = {packaging_utils.canonicalize_name(d)
            for module in imports for d in distributions.get(module, ())}
    return sorted(set(names) - used - set(NOT_IMPORTED))


class RequirementsTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.distributions = importlib.metadata.packages_distributions()
        self.runtime = declared(os.path.join(ROOT, 'requirements.txt'))
        self.tests = declared(os.path.join(ROOT, 'test-requirements.txt'))
        self.package_imports = third_party_imports(
            os.path.join(ROOT, PACKAGE))
        self.test_imports = third_party_imports(os.path.join(ROOT, 'tests'))

    def test_package_imports_are_in_requirements(self):
        self.assertEqual(
            [], undeclared(self.package_imports, self.runtime,
                           self.distributions),
            'imported by heat_mistral_engine but not in requirements.txt')

    def test_requirements_are_imported_by_the_package(self):
        self.assertEqual(
            [], unimported(self.package_imports, self.runtime,
                           self.distributions),
            'in requirements.txt but not imported by heat_mistral_engine')

    def test_test_imports_are_in_the_requirement_files(self):
        names = dict(self.runtime, **self.tests)
        self.assertEqual(
            [], undeclared(self.test_imports, names, self.distributions),
            'imported by tests/ but in neither requirements.txt nor '
            'test-requirements.txt')

    def test_test_requirements_are_imported_by_the_tests(self):
        self.assertEqual(
            [], unimported(self.test_imports, self.tests,
                           self.distributions),
            'in test-requirements.txt but not imported by tests/')

    def test_mistral_is_only_a_host_of_the_mistral_side(self):
        # The exemption covers heat_mistral_engine/mistral only: Heat's
        # side runs where no Mistral is installed.
        files = self.package_imports.get('mistral', set())
        self.assertNotEqual(set(), files)
        self.assertEqual(
            [], sorted(f for f in files
                       if not f.startswith(PACKAGE + '/mistral/')))


class CheckerTest(testtools.TestCase):
    """The helpers above find what they are meant to find."""

    def _tree(self, files):
        top = self.useFixture(fixtures.TempDir()).path
        for name, text in files.items():
            path = os.path.join(top, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)
        return top

    def test_imports_anywhere_in_a_file_count(self):
        top = self._tree({
            'pkg/a.py': 'import json\nimport yaml.constructor\n',
            'pkg/b.py': 'def f():\n    from oslo_db import exception\n',
            'pkg/c.py': 'from . import a\nfrom heat_mistral_engine import x\n'
                        'import neighbour\n',
            'pkg/neighbour.py': '',
        })
        self.assertEqual(
            {'yaml': {'pkg/a.py'}, 'oslo_db': {'pkg/b.py'}},
            third_party_imports(top, root=top))

    def test_an_undeclared_import_is_reported(self):
        imports = {'yaml': {'pkg/a.py'}, 'oslo_db': {'pkg/b.py'},
                   'nowhere': {'pkg/c.py'}}
        distributions = {'yaml': ['PyYAML'], 'oslo_db': ['oslo.db']}
        self.assertEqual(
            ['nowhere (no installed distribution), imported by pkg/c.py',
             'oslo_db (oslo-db), imported by pkg/b.py'],
            undeclared(imports, {'pyyaml': None}, distributions))

    def test_mistral_is_allowed_only_on_the_mistral_side(self):
        imports = {'mistral': {PACKAGE + '/mistral/patches/p.py',
                               PACKAGE + '/heat/h.py'}}
        self.assertEqual(
            ['mistral (mistral), imported by %s/heat/h.py' % PACKAGE],
            undeclared(imports, {}, {'mistral': ['mistral']}))

    def test_an_unused_requirement_is_reported(self):
        self.assertEqual(
            ['six'],
            unimported({'yaml': {'a.py'}}, {'pyyaml': None, 'six': None,
                                            'stestr': None},
                       {'yaml': ['PyYAML'], 'six': ['six']}))


def constraints():
    """{normalised name: pinned version} of the constraints here.

    Lines whose marker excludes the running Python are left out.
    """
    pins = {}
    for req in requirement_lines(os.path.join(ROOT, CONSTRAINTS)):
        if req.marker is None or req.marker.evaluate():
            name = packaging_utils.canonicalize_name(req.name)
            pins[name] = next(iter(req.specifier)).version
    return pins


class ConstraintsTest(testtools.TestCase):

    def test_requirements_admit_the_constrained_versions(self):
        pins = constraints()
        refused = []
        for path in ('requirements.txt', 'test-requirements.txt',
                     'doc/requirements.txt'):
            for name, req in declared(os.path.join(ROOT, path)).items():
                if name in pins and not req.specifier.contains(
                        pins[name], prereleases=True):
                    refused.append('%s: %s, constrained to %s' % (
                        path, req, pins[name]))
        self.assertEqual([], refused)

    def test_services_are_not_constrained(self):
        # Their versions are pinned where they are installed; a constraint
        # would have to agree with each of those pins.
        self.assertEqual([], [s for s in SERVICES if s in constraints()])

    def test_every_tox_environment_that_installs_uses_the_constraints(self):
        tox = configparser.ConfigParser(interpolation=None)
        tox.read(os.path.join(ROOT, 'tox.ini'))
        base_deps = tox.get('testenv', 'deps', fallback='')
        unconstrained = []
        for section in tox.sections():
            if section != 'testenv' and not section.startswith('testenv:'):
                continue
            deps = tox.get(section, 'deps', fallback=base_deps)
            lines = [line.strip() for line in deps.splitlines()
                     if line.strip() and not line.strip().startswith('#')]
            if lines and TOX_CONSTRAINTS not in lines:
                unconstrained.append(section)
        self.assertEqual([], unconstrained)

    def test_devcloud_installs_with_the_same_constraints(self):
        with open(os.path.join(ROOT, 'tools', 'devcloud_lib',
                               'settings.sh')) as f:
            settings = f.read()
        self.assertIsNotNone(
            re.search(r'^CONSTRAINTS=\$\{DEVCLOUD_CONSTRAINTS_FILE:-'
                      r'\$REPO/%s\}$' % re.escape(CONSTRAINTS),
                      settings, re.M),
            'settings.sh does not default CONSTRAINTS to ' + CONSTRAINTS)
        with open(os.path.join(ROOT, 'tools', 'devcloud_lib',
                               'install.sh')) as f:
            install = f.read()
        # Every pip install (the venv; Keystone and the PostgreSQL driver
        # through add_held_package) keeps within the constraints.
        installs = re.findall(r'/bin/pip" install [^\n]*', install)
        self.assertGreaterEqual(len(installs), 2)
        self.assertEqual(
            [], [line for line in installs if '-c "$CONSTRAINTS"' not in line])


def setup_cfg_metadata():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(ROOT, 'setup.cfg'))
    return parser['metadata']


def minor_admitted(specifier, minor):
    """Whether some 3.<minor>.x release satisfies ``specifier``."""
    return specifier.contains('3.%d.0' % minor) or specifier.contains(
        '3.%d.99' % minor)


class PackagingTest(testtools.TestCase):

    def test_built_by_pbrs_pep517_backend(self):
        with open(os.path.join(ROOT, 'pyproject.toml'), 'rb') as f:
            build = tomllib.load(f)['build-system']
        self.assertEqual('pbr.build', build['build-backend'])
        self.assertIn('pbr', [requirements.Requirement(r).name
                              for r in build['requires']])

    def test_python_heat_refuses_is_refused(self):
        # heat-engine imports the plugin: a Python that Heat 27 does not
        # run on must not be offered an install of it either.
        ours = specifiers.SpecifierSet(
            setup_cfg_metadata()['python_requires'])
        heat = specifiers.SpecifierSet(importlib.metadata.metadata(
            'openstack-heat')['Requires-Python'])
        admitted = ['3.%d' % minor for minor in range(6, 20)
                    if minor_admitted(ours, minor) and
                    not minor_admitted(heat, minor)]
        self.assertEqual([], admitted)
        self.assertTrue(minor_admitted(ours, sys.version_info.minor))

    def test_license_is_apache_2(self):
        self.assertEqual('Apache-2.0', setup_cfg_metadata()['license'])
        with open(os.path.join(ROOT, 'LICENSE')) as f:
            text = f.read()
        self.assertIn('Apache License', text)
        self.assertIn('Version 2.0, January 2004', text)
