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

"""The configuration reference stays complete and in step with the code.

The samples in etc/heat-mistral-engine/ are what operators (and the docs)
read; they are generated from the options by oslo-config-generator through
the ``oslo.config.opts`` entry points in setup.cfg.
"""

import os

import fixtures
from oslo_config import cfg
from oslo_config import generator
import stevedore
import testtools

from heat_mistral_engine import config
from heat_mistral_engine.mistral import options as mistral_options

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
ETC = os.path.join(ROOT, 'etc', 'heat-mistral-engine')

# generator config file -> the sample it writes, both under ETC
SAMPLES = {
    'config-generator.conf': 'heat.conf.sample',
    'mistral-config-generator.conf': 'mistral.conf.sample',
}


class ConfigSampleTest(testtools.TestCase):

    def _generate(self, generator_conf):
        out = os.path.join(self.useFixture(fixtures.TempDir()).path,
                           'sample.conf')
        conf = cfg.ConfigOpts()
        generator.register_cli_opts(conf)
        conf(['--config-file', os.path.join(ETC, generator_conf),
              '--output-file', out])
        generator.generate(conf)
        with open(out) as f:
            return f.read()

    def test_checked_in_samples_match_the_options(self):
        for generator_conf, sample in sorted(SAMPLES.items()):
            path = os.path.join(ETC, sample)
            checked_in = None
            if os.path.exists(path):
                with open(path) as f:
                    checked_in = f.read()
            self.assertEqual(
                self._generate(generator_conf), checked_in,
                '%s is missing or out of date with the options in the '
                'code; run "tox -e genconfig" and commit the result.'
                % os.path.relpath(path, ROOT))

    def test_entry_points_name_the_list_opts_functions(self):
        mgr = stevedore.ExtensionManager('oslo.config.opts')
        found = {ext.name: ext.plugin for ext in mgr}
        self.assertIs(config.list_opts, found.get('heat_mistral_engine'))
        self.assertIs(mistral_options.list_opts,
                      found.get('heat_mistral_engine.mistral'))


class HelpTextTest(testtools.TestCase):

    def test_every_option_has_help_text(self):
        missing = []
        for list_opts in (config.list_opts, mistral_options.list_opts):
            for group, opts in list_opts():
                for opt in opts:
                    if not (opt.help or '').strip():
                        missing.append('[%s] %s' % (group, opt.name))
        self.assertEqual([], missing, 'options without help text')

    def test_our_groups(self):
        self.assertEqual(['mistral_scheduler'],
                         [g for g, _ in config.list_opts()])
        self.assertEqual(['heat_mistral_engine'],
                         [g for g, _ in mistral_options.list_opts()])
