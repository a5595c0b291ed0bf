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

"""One scenario on both clouds, and what differs: shared by the tests.

``test_parity`` (the hand-written scenarios) and ``difftest`` (generated
ones) play a scenario with ``play_both`` and judge it with
``differences``; neither has a comparison of its own.
"""

import collections
import concurrent.futures
import json
import os

from tests.parity import checks
from tests.parity import dsl

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

# One cloud's run: its dsl.Record and the exception that ended it, if any.
Outcome = collections.namedtuple('Outcome', 'record error')

# ``what`` differs: ``native`` is native Heat's side, ``plugin`` the
# plugin's (for a problem found on one cloud only, the other side is the
# empty list).
Difference = collections.namedtuple('Difference', 'what native plugin')


def clouds():
    """The (native, plugin) dsl.Clouds, from the environment.

    ``PARITY_NATIVE_DIR`` and ``DEVCLOUD_DIR``, as tools/parity-clouds
    reads them.
    """
    return (
        dsl.Cloud('native', os.environ.get(
            'PARITY_NATIVE_DIR', os.path.join(REPO, '.devcloud-native')),
            plugin=False),
        dsl.Cloud('plugin', os.environ.get(
            'DEVCLOUD_DIR', os.path.join(REPO, '.devcloud')), plugin=True),
    )


def play(cloud, scenario):
    """Run ``scenario`` on ``cloud``; never raises: an Outcome.

    A stack the scenario left behind is deleted.
    """
    runner = dsl.Runner(cloud, scenario)
    try:
        return Outcome(runner.run(), None)
    except Exception as exc:
        return Outcome(runner.record, exc)
    finally:
        runner.cleanup()


def play_both(scenario, native, plugin):
    """Run ``scenario`` on both clouds at once: (native, plugin) Outcomes."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(play, cloud, scenario)
                   for cloud in (native, plugin)]
        return tuple(f.result() for f in futures)


def differences(scenario, plugin_cloud, native, plugin, alone=True):
    """What the user would see differ, in the order worth reading.

    ``native`` and ``plugin`` are the Outcomes. In order: an exception on
    either side; the step observations; each resource's own event story;
    then the problems found on each cloud alone (dependency order outside
    ``scenario.unordered`` that the other cloud kept, and on the plugin
    cloud what Mistral ran). An
    empty list means parity. ``alone``: the scenario ran by itself on
    the clouds (``checks.mistral_problems``).
    """
    found = []
    for label, outcome in (('native', native), ('plugin', plugin)):
        if outcome.error is not None:
            found.append(Difference('%s raised' % label, None,
                                    str(outcome.error)))
    if native.record.steps != plugin.record.steps:
        found.append(Difference(
            'what the user sees differs (first: native, second: plugin)',
            native.record.steps, plugin.record.steps))
    stories = event_story(native.record), event_story(plugin.record)
    if stories[0] != stories[1]:
        found.append(Difference(
            'per-resource events differ (first: native, second: plugin)',
            *stories))
    allowed = {(a, r, d) for a, r, d, _why in scenario.unordered}
    violations = {label: [v for v in checks.order_violations(outcome.record)
                          if v[:3] not in allowed]
                  for label, outcome in (('native', native),
                                         ('plugin', plugin))}
    # A violation native Heat shows too, in the same traversal, is Heat's
    # own order (the check's model of it is too strict), not a divergence.
    shared = set(violations['native']) & set(violations['plugin'])
    problems = {label: [message for violation in violations[label]
                        if violation not in shared
                        for message in violation[3:]]
                for label in ('native', 'plugin')}
    problems['plugin'] += checks.mistral_problems(plugin_cloud,
                                                  plugin.record, alone=alone)
    if problems['native'] or problems['plugin']:
        # Each cloud's own problems on its side, as the report labels them.
        found.append(Difference('problems on one cloud',
                                problems['native'], problems['plugin']))
    return found


def latency_note(native, plugin):
    """How late each cloud's mid-action steps acted, for a failure message.

    A mid-action step that acted after its resource's action ended shows
    as a divergence; these seconds (``dsl.Record.act_latencies``) tell it
    from an engine's.
    """
    return 'mid-action steps acted after (s): native %s, plugin %s' % (
        native.record.act_latencies, plugin.record.act_latencies)


def event_story(record):
    """Each resource's events (status, reason), in order.

    The order between resources may differ where no dependency fixes it; a
    resource's own history may not.
    """
    story = {}
    for name, status, reason, is_stack in record.events:
        key = 'stack' if is_stack else name
        story.setdefault(key, []).append('%s %s' % (status, reason))
    return story


def dump(path, native, plugin):
    """Write both records to ``path`` (JSON), for a human."""
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    with open(path, 'w') as f:
        json.dump({label: {'stack': r.stack_name, 'id': r.stack_id,
                           'seconds': round(r.duration or 0, 1),
                           'act_latencies': r.act_latencies,
                           'steps': r.steps, 'events': r.events,
                           'edges': sorted(r.edges)}
                   for label, r in (('native', native.record),
                                    ('plugin', plugin.record))},
                  f, indent=1, default=str)
