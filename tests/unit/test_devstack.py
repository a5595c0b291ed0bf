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

"""The devstack plugin (devstack/settings, devstack/plugin.sh).

devstack cannot run here, so bash sources the plugin's files the way
devstack does, with devstack's functions replaced by stand-ins that record
each call (``STUBS``; ``trueorfalse`` is devstack's own logic), and the
tests read the record.
"""

import os
import re
import shutil
import subprocess
import tempfile

import fixtures
import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEVSTACK = os.path.join(REPO, 'devstack')

# devstack's functions as the plugin calls them: each appends one line to
# $RECORD. pip_install also records the requirement files it is given.
STUBS = r'''
record() { printf '%s\n' "$*" >>"$RECORD"; }
die() { shift; echo "$*" >&2; exit 1; }
trueorfalse() {
    local default=$1 testval=${!2:-}
    case "$testval" in
        "1" | [yY]es | "YES" | [tT]rue | "TRUE" ) echo "True" ;;
        "0" | [nN]o | "NO" | [fF]alse | "FALSE" ) echo "False" ;;
        * ) echo "$default" ;;
    esac
}
define_plugin() { record define_plugin "$@"; }
plugin_requires() { record plugin_requires "$@"; }
enable_service() { record enable_service "$@"; }
is_service_enabled() {
    local s
    for s in "$@"; do [[ ",$SERVICES," == *",$s,"* ]] && return 0; done
    return 1
}
iniset() { record iniset "$@"; }
get_or_create_project() { echo "id-of-$1"; }
setup_develop() { record setup_develop "$@"; }
setup_package() { record setup_package "$@"; }
safe_chown() { record safe_chown "$@"; }
pip_install() {
    record pip_install "$@"
    if [[ $1 == -r ]]; then sed 's/^/  | /' "$2" >>"$RECORD"; fi
}
echo_summary() { :; }
run_process() { record run_process "$@"; }
stop_process() { record stop_process "$@"; }
'''

# A pipeline of heat-api's api-paste.ini, as Heat ships it.
PASTE = '[pipeline:heat-api]\npipeline = faultwrap context apiv1app\n'

SEPARATE_MISTRAL = ('heat,mistral,mistral-api,mistral-engine,'
                    'mistral-executor,mistral-event-engine')


class DevstackPluginTest(testtools.TestCase):

    def run_plugin(self, phases=(), plugins='heat,mistral,heat-mistral-engine',
                   services=SEPARATE_MISTRAL, **env):
        """Source settings, then plugin.sh once per phase.

        Returns (exit status, stderr, recorded lines).
        """
        record = tempfile.NamedTemporaryFile(delete=False)
        record.close()
        self.addCleanup(os.unlink, record.name)
        paste = tempfile.NamedTemporaryFile('w', delete=False)
        paste.write(PASTE)
        paste.close()
        self.addCleanup(os.unlink, paste.name)
        script = STUBS + ''.join(
            'source %s/plugin.sh %s\n' % (DEVSTACK, phase)
            for phase in phases)
        variables = dict(
            RECORD=record.name, DEVSTACK_PLUGINS=',' + plugins,
            SERVICES=services, DEST='/opt/stack',
            HEAT_MISTRAL_ENGINE_DIR=REPO, HEAT_CONF='/etc/heat/heat.conf',
            MISTRAL_CONF_FILE='/etc/mistral/mistral.conf',
            MISTRAL_BIN_DIR='/usr/local/bin', GLOBAL_VENV='True',
            STACK_USER='stack', KEYSTONE_SERVICE_URI='http://ks/identity',
            SERVICE_PASSWORD='pw', SERVICE_PROJECT_NAME='service',
            REGION_NAME='RegionOne', HEAT_API_PASTE_FILE=paste.name)
        variables.update(env)
        self.paste = paste.name
        prelude = ''.join('%s=%s\n' % (k, _quote(v))
                          for k, v in sorted(variables.items()))
        proc = subprocess.run(
            ['bash', '-e', '-c', prelude + STUBS +
             'source %s/settings\n' % DEVSTACK + script],
            capture_output=True, text=True, env={'PATH': os.environ['PATH']})
        with open(record.name) as f:
            lines = f.read().splitlines()
        return proc.returncode, proc.stderr, lines

    # -- settings -----------------------------------------------------------
    def test_settings_names_the_plugin_and_what_it_requires(self):
        status, err, lines = self.run_plugin()
        self.assertEqual(0, status, err)
        self.assertEqual(['define_plugin heat-mistral-engine',
                          'plugin_requires heat-mistral-engine heat',
                          'plugin_requires heat-mistral-engine mistral'],
                         lines)

    def test_settings_refuses_heat_enabled_after_the_plugin(self):
        status, err, _ = self.run_plugin(
            plugins='mistral,heat-mistral-engine,heat')
        self.assertEqual(1, status)
        self.assertIn("heat-mistral-engine needs the heat devstack plugin "
                      "enabled before it: in local.conf, put "
                      "'enable_plugin heat ...' above 'enable_plugin "
                      "heat-mistral-engine ...' (plugins enabled, in "
                      "order: mistral,heat-mistral-engine,heat)", err)

    def test_settings_refuses_a_missing_mistral_plugin(self):
        status, err, _ = self.run_plugin(plugins='heat,heat-mistral-engine')
        self.assertEqual(1, status)
        self.assertIn('needs the mistral devstack plugin enabled before it',
                      err)

    def test_settings_refuses_another_name_for_the_plugin(self):
        status, err, _ = self.run_plugin(plugins='heat,mistral,hme')
        self.assertEqual(1, status)
        self.assertIn('enable this plugin under the name '
                      'heat-mistral-engine', err)

    def test_other_plugins_around_it_are_fine(self):
        status, err, _ = self.run_plugin(
            plugins='heat,barbican,mistral,heat-mistral-engine,octavia')
        self.assertEqual(0, status, err)

    # -- install ------------------------------------------------------------
    def test_install_never_lets_pip_resolve_heat_or_mistral(self):
        status, err, lines = self.run_plugin(['stack install'])
        self.assertEqual(0, status, err)
        calls = lines[3:]
        self.assertEqual('pip_install -r', calls[0][:len('pip_install -r')])
        reqs = [line[len('  | '):] for line in calls
                if line.startswith('  | ')]
        names = [_requirement_name(r) for r in reqs if _requirement_name(r)]
        with open(os.path.join(REPO, 'requirements.txt')) as f:
            wanted = [_requirement_name(r) for r in f]
        self.assertEqual(
            sorted(n for n in wanted
                   if n and n not in ('openstack-heat', 'mistral')),
            sorted(names))
        self.assertIn('mistral-lib', names)
        self.assertIn('python-mistralclient', names)
        self.assertEqual(['setup_package %s --no-deps -e' % REPO],
                         [c for c in calls if c.startswith('setup_')])

    def test_install_gives_a_root_egg_info_back_without_a_global_venv(self):
        # What setup_package does after a plain "-e" (pip run with sudo).
        checkout = self.useFixture(fixtures.TempDir()).path
        shutil.copy(os.path.join(REPO, 'requirements.txt'), checkout)
        egg_info = os.path.join(checkout, 'heat_mistral_engine.egg-info')
        os.mkdir(egg_info)
        _, _, lines = self.run_plugin(['stack install'], GLOBAL_VENV='False',
                                      HEAT_MISTRAL_ENGINE_DIR=checkout)
        self.assertIn('safe_chown -R stack %s' % egg_info, lines)
        _, _, lines = self.run_plugin(['stack install'],
                                      HEAT_MISTRAL_ENGINE_DIR=checkout)
        self.assertNotIn('safe_chown -R stack %s' % egg_info, lines)

    # -- post-config and extra ----------------------------------------------
    def test_by_default_mistral_conf_is_left_alone(self):
        status, err, lines = self.run_plugin(
            ['stack post-config', 'stack extra'])
        self.assertEqual(0, status, err)
        self.assertEqual([
            'iniset /etc/heat/heat.conf mistral_scheduler enabled True',
            'iniset /etc/heat/heat.conf mistral_scheduler auth_type password',
            'iniset /etc/heat/heat.conf mistral_scheduler auth_url '
            'http://ks/identity',
            'iniset /etc/heat/heat.conf mistral_scheduler username heat',
            'iniset /etc/heat/heat.conf mistral_scheduler password pw',
            'iniset /etc/heat/heat.conf mistral_scheduler project_name '
            'service',
            'iniset /etc/heat/heat.conf mistral_scheduler user_domain_id '
            'default',
            'iniset /etc/heat/heat.conf mistral_scheduler '
            'project_domain_id default',
            'iniset /etc/heat/heat.conf mistral_scheduler region_name '
            'RegionOne',
            'iniset %s filter:workflow_view paste.filter_factory '
            'heat_mistral_engine.heat.api.workflow_view:filter_factory'
            % self.paste,
            # Not a tuning: without it the heat.* actions refuse all.
            'iniset /etc/mistral/mistral.conf heat_mistral_engine '
            'service_project_id id-of-service',
        ], lines[3:])
        with open(self.paste) as f:
            self.assertIn('pipeline = faultwrap context workflow_view '
                          'apiv1app\n', f.read())

    def test_tuned_mistral_gets_the_mistral_wide_settings(self):
        status, err, lines = self.run_plugin(
            ['stack post-config', 'stack extra'],
            HEAT_MISTRAL_ENGINE_TUNE_MISTRAL='true')
        self.assertEqual(0, status, err)
        self.assertIn('enable_service mistral-periodic', lines)
        mistral = [line for line in lines if 'mistral.conf' in line]
        self.assertEqual([
            'iniset /etc/mistral/mistral.conf heat_mistral_engine '
            'service_project_id id-of-service',
            'iniset /etc/mistral/mistral.conf cron_trigger run_in_api False',
            'iniset /etc/mistral/mistral.conf api validation_mode enabled',
            'iniset /etc/mistral/mistral.conf executor type local',
            'iniset /etc/mistral/mistral.conf heat_mistral_engine '
            'local_task_start True',
            'iniset /etc/mistral/mistral.conf heat_mistral_engine '
            'prompt_joins True',
            'run_process mistral-periodic /usr/local/bin/mistral-server '
            '--server periodic --config-file /etc/mistral/mistral.conf',
        ], mistral)

    def test_tuned_mistral_as_one_server_needs_no_periodic_service(self):
        # "mistral-server --server all" runs the periodic server itself.
        _, _, lines = self.run_plugin(
            ['stack extra'], services='heat,mistral',
            HEAT_MISTRAL_ENGINE_TUNE_MISTRAL='True')
        self.assertEqual([], [c for c in lines if c.startswith('run_')])

    def test_disabled_scheduler(self):
        _, _, lines = self.run_plugin(['stack post-config'],
                                      HEAT_MISTRAL_ENGINE_ENABLED='False')
        self.assertIn(
            'iniset /etc/heat/heat.conf mistral_scheduler enabled False',
            lines)

    def test_nothing_without_heat_and_mistral_services(self):
        _, _, lines = self.run_plugin(['stack install', 'stack post-config'],
                                      services='heat')
        self.assertEqual(3, len(lines))

    def test_unstack_stops_the_periodic_server(self):
        _, _, lines = self.run_plugin(['unstack'])
        self.assertEqual(['stop_process mistral-periodic'], lines[3:])


class RequirementsTest(testtools.TestCase):
    """pip must never satisfy a requirement by replacing Heat or Mistral."""

    def test_no_upper_bound_on_heat_or_mistral(self):
        for name in ('requirements.txt', 'setup.cfg'):
            with open(os.path.join(REPO, name)) as f:
                for line in f:
                    if _requirement_name(line) in ('openstack-heat',
                                                   'mistral'):
                        spec = line.split('#')[0]
                        self.assertNotRegex(spec, r'<|==|~=|!=', line)


def _requirement_name(line):
    """The project name a requirements line names (lower case), or None."""
    match = re.match(r'\s*([A-Za-z0-9][A-Za-z0-9._-]*)', line.split('#')[0])
    return match.group(1).lower() if match else None


def _quote(value):
    return "'%s'" % value.replace("'", "'\\''")
