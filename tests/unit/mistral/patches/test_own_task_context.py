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

"""The own_task_context patch: tagged tasks pass on little or nothing.

Mistral's real engine runs a chain and a join, tagged as the generated
workflows are (their tasks reading data with task()), as they were
(reading it from the context), and each with another tag, with the patch
and without
(tests/unit/mistral_side/check_own_task_context.py, in child processes:
Mistral's options and Heat's clash in one process).
"""

import importlib.util

import testtools

from tests.unit import base
from tests.unit import mistral_side

CHECK = 'own_task_context'
VERSIONS = '__versions'   # Mistral's context versions, kept as they are.


def stored(result):
    """{task: keys of its stored in_context} of one execution."""
    return {name: task['in_context']
            for name, task in result['tasks'].items()}


def seen(result):
    """What a workflow's author sees: everything but the in_context."""
    return {'state': result['state'], 'output': result['output'],
            'tasks': {name: (task['state'], task['published'])
                      for name, task in result['tasks'].items()}}


@testtools.skipUnless(importlib.util.find_spec('mistral'), 'needs mistral')
class OwnTaskContextTest(base.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.patched = mistral_side.run_check(CHECK, 'patched')
        cls.upstream = mistral_side.run_check(CHECK, 'upstream')

    def test_installed_only_when_on(self):
        self.assertTrue(self.patched['installed'])
        self.assertFalse(self.upstream['installed'])

    def test_tagged_chain_stores_only_the_direct_predecessors_data(self):
        self.assertEqual(
            {'first': [], 'second': [VERSIONS, 'first'],
             'third': [VERSIONS, 'second'], 'last': [VERSIONS, 'third']},
            stored(self.patched['results']['chain_tagged']))

    def test_tagged_join_receives_both_branches_only(self):
        self.assertEqual(
            {'root': [], 'left': [VERSIONS, 'root'],
             'right': [VERSIONS, 'root'],
             'joined': [VERSIONS, 'left', 'right']},
            stored(self.patched['results']['join_tagged']))

    def test_upstream_mistral_accumulates_even_tagged(self):
        # What the patch changes: without it, each task stores what every
        # task before it published.
        self.assertEqual(
            [VERSIONS, 'first', 'second', 'third'],
            stored(self.upstream['results']['chain_tagged'])['last'])
        self.assertEqual(
            [VERSIONS, 'left', 'right', 'root'],
            stored(self.upstream['results']['join_tagged'])['joined'])

    def test_no_context_tasks_store_no_data_in_their_successors(self):
        # What they published is read with task(): no task's in_context
        # holds any of it, only Mistral's (empty) version map.
        self.assertEqual(
            {'first': [], 'second': [VERSIONS], 'third': [VERSIONS],
             'last': [VERSIONS]},
            stored(self.patched['results']['chain_nocontext']))
        self.assertEqual(
            {'root': [], 'left': [VERSIONS], 'right': [VERSIONS],
             'joined': [VERSIONS]},
            stored(self.patched['results']['join_nocontext']))

    def test_no_context_workflows_end_as_upstream(self):
        # The same states, published values and output as the same
        # definitions untagged, and as without the patch, where the
        # contexts accumulate as usual.
        for shape in ('chain', 'join'):
            name = shape + '_nocontext'
            result = self.patched['results'][name]
            self.assertEqual('SUCCESS', result['state'], name)
            self.assertEqual(seen(self.patched['results'][
                name + '_untagged']), seen(result), name)
            self.assertEqual(seen(self.upstream['results'][name]),
                             seen(result), name)
        self.assertEqual(
            [VERSIONS, 'first', 'second', 'third'],
            stored(self.upstream['results']['chain_nocontext'])['last'])

    def test_untagged_tasks_stay_as_upstream(self):
        for name in ('chain_untagged', 'join_untagged',
                     'chain_nocontext_untagged', 'join_nocontext_untagged'):
            self.assertEqual(self.upstream['results'][name],
                             self.patched['results'][name], name)

    def test_tagged_workflows_end_as_upstream(self):
        # Their tasks read only their direct predecessors' data: same
        # states, published values and output.
        for name in ('chain_tagged', 'join_tagged'):
            result = self.patched['results'][name]
            self.assertEqual('SUCCESS', result['state'], name)
            self.assertEqual(seen(self.upstream['results'][name]),
                             seen(result), name)
