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

"""frozen_json: one decoded value per text, and nobody can change it."""

import copy
import json

import testtools

from heat_mistral_engine.heat.cache import frozen_json

TEXT = json.dumps({'resources': {'a': {'type': 'T', 'properties': {
    'value': {'list_join': [',', ['x', {'get_attr': ['b', 'out']}]]}}}},
    'edges': [[[1, True], [2, True]]], 'n': 1, 'none': None})


class FrozenJsonTest(testtools.TestCase):

    def test_reads_as_the_decoded_json(self):
        value = frozen_json.SharedJson(2).decode(TEXT)
        self.assertEqual(json.loads(TEXT), value)
        self.assertEqual(json.loads(TEXT), json.loads(json.dumps(value)))
        self.assertIsInstance(value, dict)
        self.assertIsInstance(value['edges'], list)
        self.assertIsNone(frozen_json.SharedJson(2).decode(None))

    def test_every_change_raises(self):
        value = frozen_json.SharedJson(2).decode(TEXT)
        a = value['resources']['a']
        edges = value['edges']
        for change in (lambda: value.__setitem__('x', 1),
                       lambda: value.pop('n'),
                       lambda: value.update(x=1),
                       lambda: value.setdefault('x', 1),
                       lambda: a.clear(),
                       lambda: value.__delitem__('n'),
                       lambda: edges.append(1),
                       lambda: edges[0].extend([1]),
                       lambda: edges.__setitem__(0, 1),
                       lambda: edges.sort(),
                       lambda: edges.pop()):
            self.assertRaises(TypeError, change)
        self.assertEqual(json.loads(TEXT), value)

    def test_copies_are_ordinary_and_changeable(self):
        value = frozen_json.SharedJson(2).decode(TEXT)
        deep = copy.deepcopy(value)
        self.assertIs(dict, type(deep))
        self.assertIs(list, type(deep['edges'][0]))
        deep['edges'][0].append('x')
        self.assertIs(dict, type(copy.copy(value)))
        self.assertIs(dict, type(dict(value)))
        thawed = frozen_json.thaw(value)
        thawed['resources']['a']['type'] = 'U'
        self.assertEqual('T', value['resources']['a']['type'])

    def test_one_value_per_distinct_text(self):
        shared = frozen_json.SharedJson(2)
        first = shared.decode(TEXT)
        # Equal text in another string object, as each database read gives.
        self.assertIs(first, shared.decode(''.join(list(TEXT))))
        other = TEXT.replace('"T"', '"U"')
        self.assertEqual('U', shared.decode(other)['resources']['a']['type'])
        self.assertIs(first, shared.decode(TEXT))
        self.assertEqual(2, len(shared))

    def test_keeps_only_the_last_texts(self):
        shared = frozen_json.SharedJson(2)
        first = shared.decode('[1]')
        shared.decode('[2]')
        shared.decode('[3]')
        self.assertEqual(2, len(shared))
        again = shared.decode('[1]')
        self.assertEqual(first, again)
        self.assertIsNot(first, again)
