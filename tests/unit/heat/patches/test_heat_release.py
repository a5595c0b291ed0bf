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

"""The one check of Heat's release and of the signatures the patches fit."""

from unittest import mock

import testtools

from heat_mistral_engine.heat.patches import heat_release


def method(self, stack, extra=None):
    pass


class HeatReleaseTest(testtools.TestCase):

    def test_installed_heat_is_supported(self):
        self.assertIsNone(heat_release.release_problem('X supports'))
        heat_release.check('X supports', (('m', method,
                                           ('self', 'stack', 'extra')),))

    def test_other_release_names_both(self):
        with mock.patch.object(heat_release, 'SUPPORTED_HEAT',
                               ((28, 0), (29, 0))):
            exc = self.assertRaises(heat_release.IncompatibleHeat,
                                    heat_release.check, 'X supports')
        self.assertIn('X supports openstack-heat >= 28.0, < 29.0; found 27.',
                      str(exc))

    def test_signatures(self):
        self.assertIsNone(heat_release.signature_problem(
            'm', method, ('self', 'stack'), leading=True))
        self.assertEqual(
            "m('self', 'stack', 'extra') does not match the expected "
            "parameters ('self', 'stack')",
            heat_release.signature_problem('m', method, ('self', 'stack')))
        self.assertEqual('m is missing', heat_release.signature_problem(
            'm', None, ('self',)))
        exc = self.assertRaises(heat_release.IncompatibleHeat,
                                heat_release.check, None,
                                (('m', method, ('self',)),))
        self.assertIn('does not match', str(exc))


class WrapMethodsTest(testtools.TestCase):

    def owner(self):
        class Owner(object):
            def first(self, stack, extra=None):
                return 'first'

            def second(self):
                return 'second'
        return Owner

    @staticmethod
    def loud(method):
        def wrapped(self, *args):
            return 'wrapped ' + method(self, *args)
        return wrapped

    def test_each_method_is_wrapped_once_and_keeps_its_original(self):
        owner = self.owner()
        first = owner.first
        heat_release.wrap_methods(owner, ['first', 'second'], self.loud)
        heat_release.wrap_methods(owner, ['first', 'second'], self.loud)
        self.assertEqual('wrapped first', owner().first(1))
        self.assertEqual('wrapped second', owner().second())
        self.assertIs(first, owner.first._hme_original)
        self.assertIs(first, heat_release.original(owner.first))

    def test_problems_are_of_heats_originals(self):
        owner = self.owner()
        expected = (('first', ('self', 'stack', 'extra')),
                    ('second', ('self',)))
        self.assertEqual([], heat_release.method_problems(
            'Owner', owner, expected))
        heat_release.wrap_methods(owner, ['first'], self.loud)
        # The wrapper's own (self, *args) is not what is checked.
        self.assertEqual([], heat_release.method_problems(
            'Owner', owner, expected))
        self.assertEqual(
            ["Owner.second('self',) does not match the expected "
             "parameters ('self', 'stack')", 'Owner.third is missing'],
            heat_release.method_problems(
                'Owner', owner, (('second', ('self', 'stack')),
                                 ('third', ('self',)))))
