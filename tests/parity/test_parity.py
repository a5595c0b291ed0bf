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
check counts every running execution of the cloud.
"""

import concurrent.futures
import json
import os
import unittest

from tests.parity import checks
from tests.parity import dsl
from tests.parity import scenarios

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _clouds():
    return (
        dsl.Cloud('native', os.environ.get(
            'PARITY_NATIVE_DIR', os.path.join(REPO, '.devcloud-native')),
            plugin=False),
        dsl.Cloud('plugin', os.environ.get(
            'DEVCLOUD_DIR', os.path.join(REPO, '.devcloud')), plugin=True),
    )


def _play(cloud, scenario):
    runner = dsl.Runner(cloud, scenario)
    try:
        return runner.run(), None
    except Exception as exc:
        return runner.record, exc
    finally:
        runner.cleanup()


class ParityTest(unittest.TestCase):

    maxDiff = None

    def run_scenario(self, scenario):
        native, plugin = _clouds()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(_play, cloud, scenario)
                       for cloud in (native, plugin)]
            (n_record, n_error), (p_record, p_error) = [
                f.result() for f in futures]
        self._dump(scenario, n_record, p_record)
        self.assertIsNone(n_error, 'native: %s' % n_error)
        self.assertIsNone(p_error, 'plugin: %s' % p_error)
        problems = []
        allowed = {(a, r, d) for a, r, d, _why in scenario.unordered}
        for label, record in (('native', n_record), ('plugin', p_record)):
            found = checks.order_violations(record)
            problems += ['%s: %s' % (label, message)
                         for action, req, dep, message in found
                         if (action, req, dep) not in allowed]
        problems += ['plugin: %s' % p
                     for p in checks.mistral_problems(plugin, p_record)]
        self.assertEqual(n_record.steps, p_record.steps,
                         'what the user sees differs (first: native, '
                         'second: plugin)')
        self.assertEqual(_event_story(n_record), _event_story(p_record),
                         'per-resource events differ (first: native, '
                         'second: plugin)')
        self.assertEqual([], problems)

    def _dump(self, scenario, *records):
        """Keep both records for a human (PARITY_RECORDS=dir)."""
        target = os.environ.get('PARITY_RECORDS')
        if not target:
            return
        os.makedirs(target, exist_ok=True)
        with open(os.path.join(target, scenario.name + '.json'), 'w') as f:
            json.dump({label: {'stack': r.stack_name, 'id': r.stack_id,
                               'seconds': round(r.duration or 0, 1),
                               'steps': r.steps, 'events': r.events,
                               'edges': sorted(r.edges)}
                       for label, r in zip(('native', 'plugin'), records)},
                      f, indent=1, default=str)


def _event_story(record):
    """Each resource's events (status, reason), in order.

    The order between resources may differ where no dependency fixes it; a
    resource's own history may not.
    """
    story = {}
    for name, status, reason, is_stack in record.events:
        key = 'stack' if is_stack else name
        story.setdefault(key, []).append('%s %s' % (status, reason))
    return story


def _make_test(scenario):
    def test(self):
        self.run_scenario(scenario)
    test.__doc__ = scenario.doc
    if scenario.name in scenarios.DIVERGENCES:
        test = unittest.expectedFailure(test)
    return test


for _scenario in scenarios.SCENARIOS:
    setattr(ParityTest, 'test_' + _scenario.name, _make_test(_scenario))
