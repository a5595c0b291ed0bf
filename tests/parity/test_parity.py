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

"""Issue 4's parity test: each scenario on native Heat and on the plugin.

Two local clouds (tools/devcloud) must run: the plugin one in
``$DEVCLOUD_DIR`` (default ``.devcloud``) and a native one
(``DEVCLOUD_PLUGIN=0``) in ``$PARITY_NATIVE_DIR`` (default
``.devcloud-native``); ``tools/parity-clouds start`` (and so ``tox -e
parity``) starts both. A scenario runs on
both at once (one thread each) and the test compares, step by step, what a
user sees; on each cloud the events must respect every dependency edge,
and on the plugin cloud Mistral must have run every traversal and left no
execution of the scenario running. Scenarios may run at once
(``tools/parity-suite`` runs three): each checks only its own executions
(its stack's, its nested stacks' and any whose ``heat_parent`` leads to
them; ``checks.mistral_problems`` with ``alone=False``), each on stacks
of its own. The comparison itself is ``compare.differences``, shared with
the generative tests (``difftest``).
"""

import os
import unittest

from tests.parity import compare
from tests.parity import scenarios


class ParityTest(unittest.TestCase):

    maxDiff = None

    def run_scenario(self, scenario):
        native_cloud, plugin_cloud = compare.clouds()
        native, plugin = compare.play_both(scenario, native_cloud,
                                           plugin_cloud)
        target = os.environ.get('PARITY_RECORDS')
        if target:
            # Both records, for a human.
            compare.dump(os.path.join(target, scenario.name + '.json'),
                         native, plugin)
        for difference in compare.differences(scenario, plugin_cloud,
                                              native, plugin, alone=False):
            self.assertEqual(difference.native, difference.plugin,
                             '%s (%s)' % (difference.what,
                                          compare.latency_note(native,
                                                               plugin)))


def _make_test(scenario):
    def test(self):
        self.run_scenario(scenario)
    test.__doc__ = scenario.doc
    if scenario.name in scenarios.DIVERGENCES:
        test = unittest.expectedFailure(test)
    return test


for _scenario in scenarios.SCENARIOS:
    setattr(ParityTest, 'test_' + _scenario.name, _make_test(_scenario))
