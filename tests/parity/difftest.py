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

"""Generative differential test: random plans on native Heat and the plugin.

``python -m tests.parity.difftest --seed S --count N [--delays [MS]]
[--jobs J]``
(``tox -e difftest -- ...``) plays the plans of seeds S..S+N-1
(``generate.plan``) on the two clouds of the parity suite, as
``test_parity`` plays a scenario, and compares them with
``compare.differences``. Prints one line per plan, the differences and a
shrunk reproduction (a literal for ``generate.scenario_from_literal``) of
each plan that diverged, and last ``N passed, M failed`` alone on a line.
Exits 1 if any plan diverged. ``--jobs J`` plays J plans at once (each
its own stacks; the check that no execution is left RUNNING then looks
only at each plan's own workflows); the lines still come in seed order.

``--delays MS`` puts ``[mistral_scheduler] handover_delay_max_ms = MS`` in
``$DEVCLOUD_DIR/etc/heat.conf.d/difftest-delays.conf`` and restarts the
plugin cloud; without it the file is removed (and the cloud restarted if
it was there).
"""

import argparse
import concurrent.futures
import functools
import os
import pprint
import shutil
import subprocess
import sys
import tempfile
import time

from tests.parity import compare
from tests.parity import generate
from tests.parity import shrink

DELAYS_FILE = 'difftest-delays.conf'


def delays_config(max_ms):
    """The heat.conf.d text that turns the test delays on, or None."""
    if not max_ms:
        return None
    return '[mistral_scheduler]\nhandover_delay_max_ms = %d\n' % max_ms


def set_delays(devcloud_dir, max_ms, restart):
    """Make the plugin cloud's test delays ``max_ms``; True if changed.

    ``restart()`` is called when the conf.d file changed.
    """
    path = os.path.join(devcloud_dir, 'etc', 'heat.conf.d', DELAYS_FILE)
    wanted = delays_config(max_ms)
    current = None
    if os.path.exists(path):
        with open(path) as f:
            current = f.read()
    if current == wanted:
        return False
    if wanted is None:
        os.remove(path)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(wanted)
    restart()
    return True


def restart_plugin_cloud():
    subprocess.run([os.path.join(compare.REPO, 'tools', 'devcloud'),
                    'restart'], check=True)


def step_count(the_plan):
    """User-level steps (step groups) after the create."""
    return len(the_plan['groups']) - 1


def play_plan(the_plan, clouds, alone=True):
    """Play ``the_plan`` on (native, plugin): the list of Differences.

    ``alone``: no other plan plays on the clouds meanwhile.

    With ``PARITY_RECORDS`` set, both records go to
    ``$PARITY_RECORDS/<plan name>-<time>.json``, as test_parity keeps them.
    """
    directory = tempfile.mkdtemp(prefix='difftest-')
    try:
        scenario = generate.scenario_from_literal(
            generate.literal(the_plan), directory)
        native, plugin = compare.play_both(scenario, *clouds)
        target = os.environ.get('PARITY_RECORDS')
        if target:
            compare.dump(os.path.join(target, '%s-%d.json' % (
                scenario.name, time.time())), native, plugin)
        return compare.differences(scenario, clouds[1], native, plugin,
                                   alone=alone)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def describe(difference):
    """A short text of one Difference: only what differs."""
    native, plugin = difference.native, difference.plugin
    lines = ['  ' + difference.what]
    if isinstance(native, list) and isinstance(plugin, list) and all(
            isinstance(x, tuple) for x in native + plugin):
        # Step observations: the first step that differs, key by key.
        for index, (n_step, p_step) in enumerate(zip(native, plugin)):
            if n_step != p_step:
                lines.append('    step %d (%s / %s):' % (
                    index, n_step[0], p_step[0]))
                for key in sorted(set(n_step[1]) | set(p_step[1])):
                    if n_step[1].get(key) != p_step[1].get(key):
                        lines.append('      %s: native %r' % (
                            key, n_step[1].get(key)))
                        lines.append('      %s: plugin %r' % (
                            key, p_step[1].get(key)))
                break
        else:
            lines.append('    steps recorded: native %d, plugin %d' % (
                len(native), len(plugin)))
    elif isinstance(native, dict) and isinstance(plugin, dict):
        for key in sorted(set(native) | set(plugin)):
            if native.get(key) != plugin.get(key):
                lines.append('    %s: native %r' % (key, native.get(key)))
                lines.append('    %s: plugin %r' % (key, plugin.get(key)))
    else:
        lines.append('    native: %s' % (native,))
        lines.append('    plugin: %s' % (plugin,))
    return '\n'.join(lines)


def run(seed, count, clouds, shrink_runs, out=sys.stdout, play=play_plan,
        jobs=1):
    """Play the plans of ``seed``..``seed+count-1``; the number failed.

    ``jobs`` plans at once; a divergence is shrunk while the others play.
    """
    if jobs > 1:
        play = functools.partial(play, alone=False)

    def play_seed(current):
        the_plan = generate.plan(current)
        started = time.time()
        return the_plan, play(the_plan, clouds), time.time() - started

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        played = pool.map(play_seed, range(seed, seed + count))
        for current, (the_plan, found, seconds) in zip(
                range(seed, seed + count), played):
            failed += report(current, the_plan, found, seconds, clouds,
                             shrink_runs, out, play)
    print('%d passed, %d failed' % (count - failed, failed), file=out)
    return failed


def report(current, the_plan, found, seconds, clouds, shrink_runs, out,
           play):
    """Print one plan's line; shrink and print a divergence. 1 if found."""
    resources = len(the_plan['groups'][0][0]['model']['resources'])
    print('seed %d: %d resources, %d steps, %s, %.0f s' % (
        current, resources, step_count(the_plan),
        'DIVERGED' if found else 'OK', seconds), file=out, flush=True)
    if not found:
        return 0
    for difference in found:
        print(describe(difference), file=out, flush=True)
    first = found[0].what

    def reproduces(candidate):
        again = play(candidate, clouds)
        return bool(again) and again[0].what == first

    smaller, runs = shrink.shrink(the_plan, reproduces, shrink_runs)
    print('seed %d: reproduction shrunk in %d runs (%d resources, %d '
          'steps); paste into tests/parity/scenarios.py as '
          'generate.scenario_from_literal(...):' % (
              current, runs, len(generate.resource_names(smaller)),
              step_count(smaller)), file=out)
    print(pprint.pformat(generate.literal(smaller), width=79),
          file=out, flush=True)
    return 1


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='tox -e difftest --', description=__doc__.split('\n')[0])
    parser.add_argument('--seed', type=int, default=1,
                        help='first seed (default 1)')
    parser.add_argument('--count', type=int, default=1,
                        help='number of plans (default 1)')
    parser.add_argument('--delays', type=int, nargs='?', const=300,
                        default=0, metavar='MS',
                        help='random delays of up to MS ms (default 300) '
                             'at the plugin\'s hand-over points')
    parser.add_argument('--shrink-runs', type=int, default=15,
                        help='most runs spent shrinking a divergence')
    parser.add_argument('--jobs', type=int, default=1,
                        help='plans played at once (default 1)')
    args = parser.parse_args(argv)
    clouds = compare.clouds()
    plugin_dir = os.environ.get('DEVCLOUD_DIR',
                                os.path.join(compare.REPO, '.devcloud'))
    set_delays(plugin_dir, args.delays, restart_plugin_cloud)
    failed = run(args.seed, args.count, clouds, args.shrink_runs,
                 jobs=args.jobs)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
