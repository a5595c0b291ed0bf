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

"""Bad configuration and an unreachable Mistral, on the real local cloud.

Each test restarts the cloud with an extra file in heat.conf.d, so these
tests run serially, after the main functional suite (see tox.ini), and put
the cloud back as it was when they end.
"""

import os
import re
import subprocess

import fixtures

from tests.functional import base

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEVCLOUD = os.path.join(REPO, 'tools', 'devcloud')


def devcloud(*args):
    proc = subprocess.run([DEVCLOUD] + list(args), capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        raise AssertionError('tools/devcloud %s failed: %s%s'
                             % (' '.join(args), proc.stdout, proc.stderr))


class HeatConfOverlay(fixtures.Fixture):
    """Restart the cloud with ``text`` in heat.conf.d; undo it afterwards.

    ``conf_dir`` 'mistral.conf.d' puts it in Mistral's configuration.
    """

    def __init__(self, text, conf_dir='heat.conf.d'):
        super().__init__()
        self.text = text
        self.path = os.path.join(os.environ['DEVCLOUD_DIR'], 'etc',
                                 conf_dir, '90-functional-test.conf')

    def _setUp(self):
        self.addCleanup(self._restore)
        # A cloud started by an older tools/devcloud lacks mistral.conf.d.
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path, 'w') as f:
            f.write(self.text)
        devcloud('restart')

    def _restore(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        devcloud('restart')


class BadConfigTest(base.FunctionalTest):

    def setUp(self):
        super().setUp()
        # Registered before the overlay, so run after the cloud is restored:
        # only a working cloud can delete these stacks.
        self.stack_ids = []
        self.addCleanup(self._delete_stacks)

    def _delete_stacks(self):
        for stack_id in self.stack_ids:
            self._delete_quietly(stack_id)

    def create(self, template):
        stack = self.create_stack(self.template(template), cleanup=False)
        self.stack_ids.append(stack.id)
        return stack

    def assert_nothing_in_progress(self, stack_id):
        for name, rsrc in self.resources(stack_id).items():
            self.assertNotIn('IN_PROGRESS', rsrc.resource_status, name)

    def engine_log(self):
        path = os.path.join(os.environ['DEVCLOUD_DIR'], 'logs',
                            'heat-engine-1.log')
        with open(path) as f:
            return f.read()

    def assert_names_mistral_not_its_url(self, reason, url):
        """The reason names Mistral and a request id; the log has the URL.

        Issue 28: the reason said "Mistral at <URL> failed to ..." with
        the client's error, an internal URL told to the tenant.
        """
        self.assertIn('Mistral failed to', reason)
        self.assertNotIn('127.0.0.1', reason)
        request_id = re.search(r'request (req-[0-9a-f-]+)\)',
                               reason).group(1)
        self.assertIn('[%s] Mistral at %s failed to' % (request_id, url),
                      self.engine_log())

    def test_unreachable_mistral_fails_create_and_delete_naming_it(self):
        # Port 9 (discard) has no listener here: connection refused.
        url = 'http://127.0.0.1:9/v2'
        self.useFixture(HeatConfOverlay(
            '[mistral_scheduler]\nendpoint_override = %s\n' % url))
        stack = self.create('chain.yaml')
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assert_names_mistral_not_its_url(stack.stack_status_reason, url)
        self.assert_nothing_in_progress(stack.id)

        self.assertEqual('DELETE_FAILED', self.delete_stack(stack.id))
        stack = self.heat.stacks.get(stack.id)
        self.assert_names_mistral_not_its_url(stack.stack_status_reason, url)
        self.assert_nothing_in_progress(stack.id)

    def test_misconfigured_engine_logs_the_option_and_fails_stacks(self):
        # A heat.conf that still names the URL by its deprecated name:
        # the cloud's endpoint_override (which would win) is blanked.
        self.useFixture(HeatConfOverlay(
            '[mistral_scheduler]\nendpoint_override =\n'
            'mistral_url = 127.0.0.1:8989/v2\n'))
        self.assertIn('ERROR heat_mistral_engine.heat.startup.plugin [-] '
                      'heat-mistral-engine is misconfigured: '
                      '[mistral_scheduler] mistral_url has an invalid value',
                      self.engine_log())
        stack = self.create('chain.yaml')
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertIn('heat-mistral-engine is misconfigured: '
                      '[mistral_scheduler] mistral_url has an invalid value',
                      stack.stack_status_reason)
        self.assert_nothing_in_progress(stack.id)

    def test_node_data_over_the_limit_fails_naming_the_attribute(self):
        self.useFixture(HeatConfOverlay(
            '[mistral_scheduler]\nmax_node_data_kb = 1\n'))
        stack = self.create('big_attribute.yaml')
        self.assertEqual('CREATE_FAILED', stack.stack_status)
        self.assertIn('Resource big hands', stack.stack_status_reason)
        self.assertIn('(attribute output: 2.0 KiB)',
                      stack.stack_status_reason)
        self.assertIn('[mistral_scheduler] max_node_data_kb',
                      stack.stack_status_reason)
        self.assertEqual('INIT_COMPLETE',
                         self.resources(stack.id)['reader'].resource_status)
        self.assert_nothing_in_progress(stack.id)
