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

"""The cache_expressions patch: compiled Jinja expressions and expression
functions kept.

Mistral's options and Heat's clash in one process, so the checks run in a
child process (tests/unit/mistral_side/check_cache_expressions.py).
"""

import importlib.util

import testtools

from tests.unit import base
from tests.unit import mistral_side

CHECK = 'cache_expressions'


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class CacheExpressionsTest(base.TestCase):

    def test_an_expression_is_compiled_once(self):
        seen = mistral_side.run_check(CHECK)
        self.assertIsNone(seen['incompatibility'])
        self.assertTrue(seen['cached'])
        self.assertTrue(seen['installed_again'])
        self.assertEqual(1, seen['compilations'])

    def test_results_come_from_each_context(self):
        # The cache holds code, never data: the same text gives each
        # context's value, and errors are still raised.
        seen = mistral_side.run_check(CHECK)
        self.assertEqual({'a': 1}, seen['first'])
        self.assertEqual('other', seen['second'])
        self.assertTrue(seen['undefined_fails'])

    def test_sandbox_still_applies(self):
        self.assertTrue(mistral_side.run_check(CHECK)['unsafe_fails'])

    def test_custom_functions_loaded_once_and_copied(self):
        self.assertTrue(
            mistral_side.run_check(CHECK)['functions_kept'])

    def test_disabled_option_leaves_mistral_alone(self):
        seen = mistral_side.run_check(CHECK, 'disabled')
        self.assertFalse(seen['cached'])
        self.assertFalse(seen['installed_again'])
        self.assertEqual(3, seen['compilations'])
