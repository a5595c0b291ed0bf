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

"""Which hidden parameters a hook's input reads (resources.hidden_input)."""

from heat.tests import utils as heat_test_utils

from heat_mistral_engine.heat.resources import hidden_input
from tests.unit import base
from tests.unit.heat.traversal import test_concurrency_cap

PARAMETERS = {
    'secret': {'type': 'string', 'hidden': True, 'default': 's1'},
    'key': {'type': 'json', 'hidden': True, 'default': {'k': 'v'}},
    'token': {'type': 'string', 'hidden': True, 'default': 't'},
    'pin': {'type': 'number', 'hidden': True, 'default': 4},
    'plain': {'type': 'string', 'default': 'p'},
    'unused': {'type': 'string', 'hidden': True, 'default': 'u'},
}


def parsed(value, parameters=None):
    """``value`` as Heat parses a hook's input in a stored template."""
    template = {
        'heat_template_version': '2021-04-16',
        'parameters': parameters or PARAMETERS,
        'resources': {
            'other': {'type': 'OS::Heat::TestResource'},
            'hook': {'type': 'OS::Heat::TestResource',
                     'properties': {'value': value}}}}
    stack = heat_test_utils.parse_stack(template)
    return stack, stack.t.resource_definitions(stack)['hook']._properties


class HiddenParametersTest(base.TestCase):

    def setUp(self):
        super().setUp()
        test_concurrency_cap.use_heat_test_db(self)

    def found(self, value, parameters=None):
        stack, props = parsed(value, parameters)
        return hidden_input.hidden_parameters(stack.parameters,
                                              props['value'])

    def test_direct_and_nested_references(self):
        self.assertEqual(['secret'], self.found({'get_param': 'secret'}))
        self.assertEqual(['key', 'pin', 'secret', 'token'], self.found({
            'a': {'get_param': 'secret'},
            'b': [1, {'nested': {'get_param': ['key', 'k']}}],
            'c': {'str_replace': {'template': 'x=$x',
                                  'params': {'$x': {'get_param': 'token'}}}},
            'd': {'list_join': ['-', [{'get_param': 'plain'},
                                      {'if': [True, {'get_param': 'pin'},
                                              'no']}]]},
            'e': {'get_attr': ['other', 'output']},
            'f': 'get_param secret',
        }))

    def test_visible_parameters_and_other_values_are_not_named(self):
        self.assertEqual([], self.found({
            'a': {'get_param': 'plain'}, 'b': {'get_param': 'OS::stack_id'},
            'c': {'get_resource': 'other'}, 'd': 'secret', 'e': None,
            # A branch not taken never reaches the input.
            'f': {'if': [False, {'get_param': 'pin'}, 'no']}}))

    def test_cfn_ref_of_a_hidden_parameter(self):
        template = {
            'AWSTemplateFormatVersion': '2010-09-09',
            'Parameters': {'Secret': {'Type': 'String', 'NoEcho': 'true',
                                      'Default': 's'},
                           'Plain': {'Type': 'String', 'Default': 'p'}},
            'Resources': {'hook': {
                'Type': 'OS::Heat::TestResource',
                'Properties': {'value': {'Fn::Join': ['', [
                    {'Ref': 'Secret'}, {'Ref': 'Plain'}]]}}}}}
        stack = heat_test_utils.parse_stack(template)
        props = stack.t.resource_definitions(stack)['hook']._properties
        self.assertEqual(['Secret'], hidden_input.hidden_parameters(
            stack.parameters, props['value']))

    def test_the_warning_names_them_and_where_they_go(self):
        text = hidden_input.warning(['key', 'secret'])
        self.assertIn('Hidden parameters key, secret passed in input: '
                      'Mistral stores', text)
        self.assertIn('clear text', text)
        self.assertIn('Hidden parameter secret passed in delete_input',
                      hidden_input.warning(['secret'], 'delete_input'))
