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

from heat.common import context as heat_context

from heat_mistral_engine.heat.traversal import traversal_token
from tests.unit import base


class TraversalTokenTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.cnxt = heat_context.RequestContext(
            auth_token='secret-token', user_id='u1', project_id='p1',
            password='hunter2')

    def test_round_trip_gives_the_context_and_converge_flag(self):
        token = traversal_token.seal(self.cnxt, 'stack-1', 'trav-1',
                                     converge=True)
        grant = traversal_token.open_token(token, 'stack-1', 'trav-1')
        self.assertEqual('p1', grant.context.project_id)
        self.assertEqual('secret-token', grant.context.auth_token)
        self.assertIs(True, grant.converge)

    def test_secrets_are_not_in_clear_text(self):
        token = traversal_token.seal(self.cnxt, 'stack-1', 'trav-1')
        # Only strings long enough never to occur in base64 by chance.
        for secret in ('secret-token', 'hunter2', 'stack-1'):
            self.assertNotIn(secret, token)

    def test_token_of_another_stack_or_traversal_is_refused(self):
        token = traversal_token.seal(self.cnxt, 'stack-1', 'trav-1')
        exc = self.assertRaises(traversal_token.InvalidToken,
                                traversal_token.open_token, token,
                                'stack-2', 'trav-1')
        self.assertIn('stack-1', str(exc))
        self.assertRaises(traversal_token.InvalidToken,
                          traversal_token.open_token, token,
                          'stack-1', 'trav-2')

    def test_tampered_or_foreign_tokens_are_refused(self):
        token = traversal_token.seal(self.cnxt, 'stack-1', 'trav-1')
        method, sealed = token.split(':', 1)
        flipped = sealed[:20] + ('A' if sealed[20] != 'A' else 'B') + \
            sealed[21:]
        for bad in ('%s:%s' % (method, flipped), 'garbage', '', None,
                    'heat_decrypt:xyz', 'oslo_decrypt_v1:' + sealed):
            self.assertRaises(traversal_token.InvalidToken,
                              traversal_token.open_token, bad,
                              'stack-1', 'trav-1')
        self.conf.config(auth_encryption_key='b' * 32)
        self.assertRaises(traversal_token.InvalidToken,
                          traversal_token.open_token, token,
                          'stack-1', 'trav-1')
