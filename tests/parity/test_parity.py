"""Issue 4's parity test: each scenario on native Heat and on the plugin.

Two local clouds (tools/devcloud) must run: the plugin one in
``$DEVCLOUD_DIR`` (default ``.devcloud``) and a native one
(``DEVCLOUD_PLUGIN=0``) in ``$PARITY_NATIVE_DIR`` (default
``.devcloud-native``); ``tools/parity-clouds start`` (and so ``tox -e
parity``) starts both. A scenario runs on
both at once (one thread each) and the test compares, step by step, what a
user sees; on each cloud the events must respect every dependency edge,
and on the plugin cloud Mistral must have run every traversal and left no
execution running. Run the tests one at a time (``--serial``): the Mistral
check counts every running execution of the cloud. The comparison itself
is ``compare.differences``, shared with the generative tests
(``difftest``).
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
                                              native, plugin):
            self.assertEqual(difference.native, difference.plugin,
                             difference.what)


def _make_test(scenario):
    def test(self):
        self.run_scenario(scenario)
    test.__doc__ = scenario.doc
    if scenario.name in scenarios.DIVERGENCES:
        test = unittest.expectedFailure(test)
    return test


for _scenario in scenarios.SCENARIOS:
    setattr(ParityTest, 'test_' + _scenario.name, _make_test(_scenario))
