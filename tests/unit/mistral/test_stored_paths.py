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

"""Paths that something outside the code stores keep working.

Mistral loads the actions through the ``mistral.actions`` entry points of
setup.cfg, and mistral_lib's ActionSerializer puts an action's
``<module>.<class>`` in the RPC message that hands it to an executor,
which imports it from there: those two classes stay where they are.
"""

import configparser
import os

from heat_mistral_engine.mistral import actions
from heat_mistral_engine.mistral import hook_actions
from tests.unit import base

SETUP_CFG = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         os.pardir, os.pardir, os.pardir, 'setup.cfg')


class StoredPathsTest(base.TestCase):

    def test_action_classes_live_where_entry_points_name_them(self):
        setup = configparser.ConfigParser()
        setup.read(SETUP_CFG)
        entries = dict(
            line.split(' = ') for line in
            setup['entry_points']['mistral.actions'].strip().splitlines())
        self.assertEqual(
            {'heat.run_node': 'heat_mistral_engine.mistral.actions:RunNode',
             'heat.hook_report':
                 'heat_mistral_engine.mistral.hook_actions:HookReport'},
            entries)
        for cls in (actions.RunNode, hook_actions.HookReport):
            self.assertIn('%s:%s' % (cls.__module__, cls.__name__),
                          entries.values())
