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


"""A fixed set of difftest seeds, played as tests (issue 23, CI).

Each seed of ``SEEDS`` is one test: its plan (``generate.plan``) plays
on the native and the plugin cloud as ``tox -e difftest`` plays it, and
the test fails with the differences ``difftest`` would print. Seeds may
play at once, so each checks only its own Mistral executions
(``alone=False``, as ``difftest --jobs``). ``tools/parity-suite`` runs
them with the plugin cloud's hand-over delays on (``difftest --delays
300``); a failure is not shrunk here (minutes per run): it names the
command that reproduces and shrinks it.

The seeds were chosen so that, together, they cover every kind of step
the generator draws, both nested stack kinds and conditions, with few
resources and few slow waits (``doc/source/parity.rst``, "In CI"); none
can go without losing one (seeds 67 and 6 went: the others cover all
they did).
"""

import unittest

from tests.parity import compare
from tests.parity import difftest
from tests.parity import generate

# Seed: what it covers (steps after the create, as generate.Generator
# names them; res = resources of the create).
SEEDS = {
    2: 'ResourceGroup, 8 res; supersede, update --existing, add and '
       'remove, failed update with rollback, supersede, cancel without '
       'rollback',
    14: '11 res; add and remove, delete timing out (--timeout 1) then '
        'removed, replacement, in place, failed update',
    20: 'ResourceGroup, conditions, 14 res; create failing without '
        'rollback, in place, supersede, suspend and resume',
    31: '5 res; create failing with rollback',
    66: 'conditions, 9 res; cancel with rollback, check, failed update '
        'with rollback, delete while an update runs',
    69: 'provider template, 7 res; delete while the create runs',
}

DELAYS_MS = 300


class DifftestSeedsTest(unittest.TestCase):

    def play_seed(self, seed):
        found = difftest.play_plan(generate.plan(seed), compare.clouds(),
                                   alone=False)
        if found:
            self.fail('seed %d diverged:\n%s\nreproduce and shrink: '
                      'tox -e difftest -- --seed %d --count 1 --delays %d'
                      % (seed, '\n'.join(difftest.describe(d)
                                         for d in found),
                         seed, DELAYS_MS))


def _make_test(seed):
    def test(self):
        self.play_seed(seed)
    test.__doc__ = 'difftest seed %d: %s' % (seed, SEEDS[seed])
    return test


for _seed in SEEDS:
    setattr(DifftestSeedsTest, 'test_seed_%d' % _seed, _make_test(_seed))
