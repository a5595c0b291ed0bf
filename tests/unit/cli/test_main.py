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

"""``heat-mistral-engine`` as a user runs it: a child process, real output.

Every call printed eventlet's nine-line deprecation warning on stderr
(Heat was imported to build the argument parser); stderr must now stay
empty, for ``--help`` and ``--version`` because they no longer import Heat
at all, for a command that parses a template because the application
filters that one warning.
"""

import importlib.metadata
import os
import subprocess
import sys

import pbr.version
import testtools

from heat_mistral_engine.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
TWO_TIER = os.path.join(REPO, 'examples', 'two-tier.yaml')


def run(*args, code=None):
    """(exit status, stdout, stderr) of the CLI, or of ``python -c code``."""
    # tox sets PYTHONWARNINGS to ignore DeprecationWarning: the child must
    # show what a user's shell shows.
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONWARNINGS'}
    argv = ([sys.executable, '-c', code] if code else
            [sys.executable, '-m', 'heat_mistral_engine.cli.main'])
    proc = subprocess.run(argv + list(args), capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


class CliTest(testtools.TestCase):

    def test_help_lists_the_commands_and_prints_no_warning(self):
        status, out, err = run('--help')
        self.assertEqual((0, ''), (status, err))
        self.assertIn('usage: heat-mistral-engine', out)
        self.assertIn('graph          Print the Mistral task graph', out)
        self.assertIn('check-orphans  Find (and repair)', out)

    def test_version_is_pbrs(self):
        status, out, err = run('--version')
        self.assertEqual((0, ''), (status, err))
        self.assertEqual('heat-mistral-engine %s\n' % pbr.version.VersionInfo(
            'heat-mistral-engine').release_string(), out)
        self.assertEqual(main.version(), out.split()[1])

    def test_command_help_is_plain_text(self):
        for args in (('graph', '--help'), ('help', 'check-orphans')):
            status, out, err = run(*args)
            self.assertEqual((0, ''), (status, err), args)
            self.assertIn('usage: heat-mistral-engine %s' % args[-1 if
                          args[0] == 'help' else 0], out)
            # No reStructuredText markup; paragraphs kept as written.
            self.assertNotIn('``', out)
            self.assertIn('\n\nExit status: ', out)

    def test_help_and_version_import_neither_heat_nor_eventlet(self):
        code = '\n'.join([
            'import sys',
            'from heat_mistral_engine.cli import main',
            'for args in ([sys.argv[1]], ["help", "graph"]):',
            '    try:',
            '        main.main(args)',
            '    except SystemExit:',
            '        pass',
            'print(sorted(m for m in ("heat", "eventlet") if m in '
            'sys.modules), file=sys.stderr)'])
        for option in ('--help', '--version'):
            _status, _out, err = run(option, code=code)
            self.assertEqual('[]\n', err, option)

    def test_a_command_that_imports_heat_prints_no_warning(self):
        status, out, err = run('graph', TWO_TIER, '--format', 'dot')
        self.assertEqual((0, ''), (status, err))
        self.assertIn('"database" -> "app1" [label="get_attr"];', out)

    def test_errors_go_to_stderr_with_a_status(self):
        status, out, err = run('graph', os.path.join(REPO, 'missing.yaml'))
        self.assertEqual((2, ''), (status, out))
        self.assertIn('heat-mistral-engine graph: ', err)
        self.assertNotIn('Traceback', err)
        self.assertNotIn('Eventlet', err)

    def test_no_command_is_a_usage_error_not_a_shell(self):
        status, _out, err = run()
        self.assertEqual(1, status)
        self.assertIn('a command is required', err)

    def test_commands_are_entry_points(self):
        found = {ep.name: ep.value for ep in importlib.metadata.entry_points(
            group=main.NAMESPACE)}
        self.assertEqual({
            'graph': 'heat_mistral_engine.cli.commands:Graph',
            'check-orphans': 'heat_mistral_engine.cli.commands:CheckOrphans',
        }, found)
