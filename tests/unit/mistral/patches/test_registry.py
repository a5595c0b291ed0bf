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

"""The registry: every patch, in order, and nothing outside Mistral."""

import os
import sys

from heat_mistral_engine.mistral import options
from heat_mistral_engine.mistral.patches import base as patches_base
from heat_mistral_engine.mistral.patches import cache_expressions
from heat_mistral_engine.mistral.patches import lean_start_task
from heat_mistral_engine.mistral.patches import registry
from heat_mistral_engine.mistral.patches import skip_redundant_queries
from tests.unit import base

OPERATOR_GUIDE = os.path.join(
    os.path.dirname(__file__), '..', '..', '..', '..', 'doc', 'source',
    'operator-guide.rst')
# The operator guide's group of each kind of patch (its bold lead-in).
GUIDE_GROUPS = {
    patches_base.SAME_FOR_EVERY_WORKFLOW: '**Same for every workflow',
    patches_base.OWN_ACTIONS_ONLY: "**This package's own actions only",
    patches_base.TAGGED_TASKS_ONLY: '**Tasks tagged by the package only',
    patches_base.OPT_IN: '**Opt-in',
}


class RegistryTest(base.TestCase):

    def test_redundant_queries_before_the_expression_cache(self):
        # The cache keeps the expression functions it finds: task() must
        # be replaced before.
        order = [patch.option for patch in registry.PATCHES]
        self.assertLess(order.index(skip_redundant_queries.PATCH.option),
                        order.index(cache_expressions.PATCH.option))

    def test_one_patch_per_option(self):
        order = [patch.option for patch in registry.PATCHES]
        self.assertEqual(len(order), len(set(order)))
        known = {opt.name for opt in options.OPTS}
        self.assertEqual(set(), set(order) - known)

    def test_only_opt_in_patches_are_off_by_default(self):
        # A Mistral shared with other projects: what changes when their
        # tasks start is opt-in; the others are on (operator guide).
        defaults = {opt.name: opt.default for opt in options.OPTS}
        for patch in registry.PATCHES:
            self.assertIn(patch.sharing, patches_base.SHARING, patch.option)
            self.assertEqual(patch.sharing != patches_base.OPT_IN,
                             defaults[patch.option], patch.option)

    def test_the_operator_guide_puts_each_patch_in_its_group(self):
        with open(OPERATOR_GUIDE) as f:
            guide = f.read()
        section = guide.split('.. _shared-mistral:')[1].split(
            '.. _mistral-settings:')[0]
        group_of = {}
        group = None
        for line in section.splitlines():
            if line.startswith('**'):
                group = line
            elif line.startswith('``') and line.endswith('``'):
                group_of[line.strip('`')] = group
        for patch in registry.PATCHES:
            self.assertTrue(
                (group_of.get(patch.option) or '').startswith(
                    GUIDE_GROUPS[patch.sharing]),
                '%s is listed under %r' % (patch.option,
                                           group_of.get(patch.option)))

    def test_does_nothing_outside_a_mistral_process(self):
        # Heat-side tests import the actions too; they must not pull in
        # Mistral's engine (its options clash with Heat's).
        self.assertNotIn('mistral.config', sys.modules)
        self.assertEqual([], registry.install_all())
        self.assertFalse(lean_start_task.PATCH.install())
        self.assertFalse(cache_expressions.PATCH.install())
        self.assertNotIn('mistral.rpc.clients', sys.modules)
        self.assertNotIn('mistral.expressions', sys.modules)
        self.assertNotIn('mistral.db.v2.sqlalchemy.models', sys.modules)
