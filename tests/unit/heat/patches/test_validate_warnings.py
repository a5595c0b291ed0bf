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

"""Warnings in template validate's answer, and events that say no error."""

from unittest import mock

import fixtures
from heat.engine import service as heat_service

from heat_mistral_engine.heat.patches import heat_release
from heat_mistral_engine.heat.patches import resource_events
from heat_mistral_engine.heat.patches import validate_warnings
from tests.unit import base


class ValidateWarningsTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.answer = {'Description': '', 'Parameters': {}}
        self.said = []
        test = self

        def validate_template(self, cnxt, template, params=None,
                              files=None, environment_files=None,
                              files_container=None, show_nested=False,
                              ignorable_errors=None):
            for text in test.said:
                validate_warnings.warn(text)
            return dict(test.answer)

        self.useFixture(fixtures.MockPatchObject(
            heat_service.EngineService, 'validate_template',
            validate_template))
        validate_warnings.install()

    def validate(self):
        return heat_service.EngineService.validate_template(
            mock.Mock(), mock.Mock(), {})

    def test_warnings_come_back_once_each(self):
        self.said = ['a', 'b', 'a']
        self.assertEqual(['a', 'b'], self.validate()['Warnings'])
        # Nothing is left for the next validation.
        self.said = []
        self.assertNotIn('Warnings', self.validate())

    def test_an_error_answer_keeps_only_the_error(self):
        self.said = ['a']
        self.answer = {'Error': 'bad'}
        self.assertEqual({'Error': 'bad'}, self.validate())

    def test_outside_a_validation_nothing_is_kept(self):
        self.assertFalse(validate_warnings.warn('lost'))
        self.assertNotIn('Warnings', self.validate())

    def test_installed_once(self):
        wrapped = heat_service.EngineService.validate_template
        validate_warnings.install()
        self.assertIs(wrapped, heat_service.EngineService.validate_template)

    def test_another_heat_signature_is_refused(self):
        self.useFixture(fixtures.MockPatchObject(
            heat_service.EngineService, 'validate_template',
            lambda self, cnxt, template: {}))
        exc = self.assertRaises(heat_release.IncompatibleHeat,
                                validate_warnings.install)
        self.assertIn('EngineService.validate_template', str(exc))


class ResourceEventsTest(base.TestCase):

    def test_an_event_of_the_resource_s_action_and_status(self):
        rsrc = mock.Mock(action='CREATE', status='IN_PROGRESS')
        self.assertTrue(resource_events.add(rsrc, 'note'))
        rsrc._add_event.assert_called_once_with('CREATE', 'IN_PROGRESS',
                                                'note')

    def test_another_heat_gets_a_log_line_instead(self):
        logged = self.useFixture(fixtures.FakeLogger())
        rsrc = mock.Mock(action='CREATE', status='IN_PROGRESS')
        rsrc.name = 'hook'
        with mock.patch.object(resource_events, '_EXPECTED_PARAMS',
                               ('self', 'other')):
            self.assertFalse(resource_events.add(rsrc, 'note'))
        rsrc._add_event.assert_not_called()
        self.assertIn('Resource hook of stack', logged.output)
        self.assertIn('note (not shown to the user as an event: '
                      'Resource._add_event', logged.output)
