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

"""The operator hooks file: whatever it holds, deletes still work."""

import os
import tempfile
import types

import fixtures

from heat_mistral_engine.graph import operator_hooks
from heat_mistral_engine.heat.operator_hooks import (
    hooks_file as operator_hooks_file)
from heat_mistral_engine.heat.traversal import starter
from tests.unit import base

GOOD = b"""hooks:
- name: cmdb
  workflow: register
  when: after
  actions: [create]
  resource_type: "OS::Heat::*"
"""


class HooksFileTest(base.TestCase):

    def hooks_file(self, content):
        handle, path = tempfile.mkstemp(suffix='.yaml')
        self.addCleanup(os.remove, path)
        with os.fdopen(handle, 'wb') as stream:
            stream.write(content)
        self.conf.config(operator_hooks_file=path, group='mistral_scheduler')
        return path

    @staticmethod
    def stack(action):
        return types.SimpleNamespace(id='s1', action=action, CREATE='CREATE',
                                     UPDATE='UPDATE')

    def test_a_good_file_gives_its_hooks(self):
        self.hooks_file(GOOD)
        (hook,) = operator_hooks_file.load()
        self.assertEqual('cmdb', hook.name)

    def test_a_file_that_is_not_utf8_is_named_in_one_sentence(self):
        path = self.hooks_file(GOOD.replace(b'cmdb', b'cmdb\xff\xfe'))
        exc = self.assertRaises(operator_hooks.HooksFileError,
                                operator_hooks_file.load)
        self.assertEqual('[mistral_scheduler] operator_hooks_file %s is not '
                         'UTF-8 text (byte 19)' % path, str(exc))

    def test_a_bad_file_refuses_creates_and_updates(self):
        self.hooks_file(b'\xff\xfe hooks')
        for action in ('CREATE', 'UPDATE'):
            self.assertRaises(operator_hooks.HooksFileError,
                              starter.traversal_hooks, self.stack(action))

    def test_a_bad_file_never_blocks_deletes_or_rollbacks(self):
        logger = self.useFixture(fixtures.FakeLogger())
        for content in (b'\xff\xfe hooks', b'hooks: [', b'hooks: 3',
                        b'- just\n- a list\n'):
            self.hooks_file(content)
            for action in ('DELETE', 'ROLLBACK'):
                self.assertEqual((), starter.traversal_hooks(
                    self.stack(action)))
        self.assertIn('runs without operator hooks', logger.output)
