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

"""Delta debugging of a failing generated plan, within a budget of runs.

``shrink`` first drops step groups (never the create nor the final
delete), then resources (from every step's template at once), keeping a
candidate when ``reproduces(candidate)`` says it still fails. Each call of
``reproduces`` plays the candidate on both clouds, minutes each, so the
number of calls is bounded.
"""

import copy

from tests.parity import generate


class Budget(object):
    """The number of ``reproduces`` calls left."""

    def __init__(self, runs):
        self.left = runs
        self.used = 0

    def attempt(self, reproduces, candidate):
        """``reproduces(candidate)``, counted; False if none are left.

        A None candidate (invalid, see ``generate.without_resources``)
        does not reproduce and costs nothing.
        """
        if candidate is None or self.left <= 0:
            return False
        self.left -= 1
        self.used += 1
        return bool(reproduces(candidate))


def ddmin(items, test, budget):
    """A smallest sublist of ``items`` for which ``test`` holds, as found.

    Zeller's delta debugging, complements only (each attempt drops a chunk):
    the chunks halve until single items, and it stops early when the
    budget is spent. ``test(sublist)`` is assumed true for ``items``.
    """
    items = list(items)
    chunks = 2
    while items and budget.left > 0:
        size = -(-len(items) // chunks)    # ceiling division
        reduced = False
        for start in range(0, len(items), size):
            candidate = items[:start] + items[start + size:]
            if test(candidate):
                items = candidate
                chunks = max(chunks - 1, 2)
                reduced = True
                break
            if budget.left <= 0:
                break
        if not reduced:
            if size == 1:
                break
            chunks = min(len(items), chunks * 2)
    return items


def shrink(the_plan, reproduces, max_runs=15):
    """A smaller plan that still reproduces: (plan, runs used).

    ``reproduces(plan)`` plays a plan and says whether it still fails the
    same way; it is called at most ``max_runs`` times.
    """
    budget = Budget(max_runs)
    groups = the_plan['groups']

    def with_groups(kept):
        smaller = copy.deepcopy(the_plan)
        smaller['groups'] = [groups[0]] + list(kept) + [groups[-1]]
        return smaller

    kept = ddmin(groups[1:-1], lambda c: budget.attempt(
        reproduces, with_groups(c)), budget)
    current = with_groups(kept)
    names = generate.resource_names(current)

    def with_names(keep):
        return generate.without_resources(current, set(names) - set(keep))

    keep = ddmin(names, lambda c: budget.attempt(
        reproduces, with_names(c)), budget)
    return with_names(keep), budget.used
