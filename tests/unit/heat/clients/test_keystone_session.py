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

"""The Mistral client's keystoneauth options and its one session.

Keystone and Mistral are faked at the HTTP boundary (requests-mock), so
keystoneauth's own loading, token and catalog code runs.
"""

from unittest import mock

import fixtures
from keystoneauth1 import fixture as ks_fixture
from oslo_config import cfg
import requests
from requests_mock.contrib import fixture as rm_fixture

from heat_mistral_engine import config
from heat_mistral_engine.heat.clients import keystone_session
from heat_mistral_engine.heat.clients import mistral_api
from tests.unit import base

AUTH_URL = 'http://keystone.test/v3'
PROJECT_ID = 'service-project-id'
# Mistral in two regions, with an internal and a public endpoint each.
ENDPOINTS = {
    ('RegionOne', 'internal'): 'http://mistral-one.internal:8989/v2',
    ('RegionOne', 'public'): 'http://mistral-one.public:8989/v2',
    ('RegionTwo', 'internal'): 'http://mistral-two.internal:8989/v2',
    ('RegionTwo', 'public'): 'http://mistral-two.public:8989/v2',
}


def token(endpoints=ENDPOINTS):
    """A Keystone v3 token whose catalog has ``endpoints``."""
    found = ks_fixture.V3Token(project_id=PROJECT_ID)
    service = found.add_service('workflowv2', name='mistral')
    for (region, interface), url in endpoints.items():
        service.add_endpoint(interface, url, region=region)
    return found


class Base(base.TestCase):

    def setUp(self):
        super().setUp()
        self.http = self.useFixture(rm_fixture.Fixture())

    def load(self, text):
        """Read ``[mistral_scheduler]`` ``text`` from a file, as heat-engine.

        Into a ConfigOpts of this test's own: the options of an auth plugin
        exist only once keystoneauth has loaded it, and stay registered.
        Returns that ConfigOpts, also in ``self.heat_conf``.
        """
        conf_file = self.useFixture(fixtures.TempDir()).join('heat.conf')
        with open(conf_file, 'w') as f:
            f.write('[DEFAULT]\nauth_encryption_key = %s\n'
                    '[mistral_scheduler]\n%s' % ('k' * 32, text))
        self.heat_conf = cfg.ConfigOpts()
        self.heat_conf.register_opt(cfg.StrOpt('auth_encryption_key'))
        config.register_opts(self.heat_conf)
        self.heat_conf(['--config-file', conf_file], project='heat',
                       default_config_files=[], default_config_dirs=[])
        return self.heat_conf.mistral_scheduler

    def service(self):
        return mistral_api.MistralService(self.heat_conf)

    def problems(self):
        return mistral_api.config_problems(self.heat_conf)

    def keystone(self, endpoints=ENDPOINTS, **options):
        """Configure the password account; Keystone answers with a token."""
        self.load(''.join('%s = %s\n' % item for item in dict(
            auth_type='password', auth_url=AUTH_URL, username='heat',
            password='secret', project_name='service',
            user_domain_name='Default', project_domain_name='Default',
            **options).items()))
        # The password plugin first reads Keystone's version document.
        self.http.get(AUTH_URL, json={
            'version': ks_fixture.V3Discovery(AUTH_URL)})
        return self.http.post(AUTH_URL + '/auth/tokens',
                              json=token(endpoints),
                              headers={'X-Subject-Token': 'the-token'})

    def token_requests(self):
        return [r for r in self.http.request_history
                if r.url == AUTH_URL + '/auth/tokens']


class CatalogTest(Base):
    """Finding Mistral in the catalog: region and interfaces."""

    def test_region_name_picks_the_region(self):
        self.keystone(region_name='RegionTwo')
        service = self.service()
        self.assertEqual('http://mistral-two.internal:8989/v2', service.url)

    def test_internal_endpoint_is_preferred_then_public(self):
        self.keystone(region_name='RegionOne')
        self.assertEqual('http://mistral-one.internal:8989/v2',
                         self.service().url)
        self.keystone(endpoints={
            ('RegionOne', 'public'): 'http://mistral-one.public:8989/v2'},
            region_name='RegionOne')
        self.assertEqual('http://mistral-one.public:8989/v2',
                         self.service().url)

    def test_valid_interfaces_chooses(self):
        self.keystone(region_name='RegionOne', valid_interfaces='public')
        self.assertEqual('http://mistral-one.public:8989/v2',
                         self.service().url)

    def test_missing_region_is_one_sentence_naming_it(self):
        self.keystone(region_name='RegionThree')
        exc = self.assertRaises(mistral_api.MistralUnavailable,
                                self.service)
        self.assertIn('Mistral failed to find its endpoint (service type '
                      'workflowv2, region RegionThree, interface internal '
                      'or public) in the Keystone catalog', str(exc))

    def test_endpoint_override_skips_the_catalog(self):
        self.keystone(endpoint_override='http://mistral.test:8989/v2')
        service = self.service()
        self.assertEqual('http://mistral.test:8989/v2', service.url)
        # Still authenticated: the project tells own workflows from others'.
        self.assertEqual(PROJECT_ID, service._project_id)

    def test_keystone_refusal_is_one_sentence_naming_the_options(self):
        self.keystone()
        self.http.post(AUTH_URL + '/auth/tokens', status_code=401,
                       json={'error': {'message': 'bad password'}})
        exc = self.assertRaises(mistral_api.MistralUnavailable,
                                self.service)
        self.assertIn('Keystone did not authenticate heat-mistral-engine\'s '
                      'account ([mistral_scheduler] auth options)', str(exc))


class OneSessionTest(Base):
    """One session, one token, however many stack actions."""

    def test_services_share_the_session_and_its_token(self):
        self.keystone(region_name='RegionOne')
        listed = self.http.get(
            'http://mistral-one.internal:8989/v2/workflows',
            json={'workflows': []})
        services = [self.service() for _ in range(5)]
        for service in services:
            service.delete_workflows('heat_stack_x', keep_namespace='t')
        self.assertEqual(5, listed.call_count)
        # Without the shared session each service fetched its own token.
        self.assertEqual(1, len(self.token_requests()))
        self.assertEqual(
            {id(keystone_session.adapter(self.heat_conf))},
            {id(s._client.workflows.http_client.session) for s in services})
        for request in listed.request_history:
            self.assertEqual('the-token', request.headers['X-Auth-Token'])

    def test_a_forked_worker_makes_its_own(self):
        # heat-engine forks its workers: a session (connection pool,
        # token) must not be shared across processes.
        self.load('endpoint_override = http://mistral.test:8989/v2\n')
        parent = keystone_session.adapter(self.heat_conf)
        self.assertIs(parent, keystone_session.adapter(self.heat_conf))
        with mock.patch('os.getpid', return_value=-1):
            child = keystone_session.adapter(self.heat_conf)
        self.assertIsNot(parent, child)
        self.assertIsNot(parent.session, child.session)

    def test_session_is_loaded_once_per_process(self):
        self.load('endpoint_override = http://mistral.test:8989/v2\n')
        load = self.useFixture(fixtures.MockPatch(
            'keystoneauth1.loading.load_session_from_conf_options',
            wraps=keystone_session.ks_loading
            .load_session_from_conf_options)).mock
        for _ in range(3):
            self.service()
        self.assertEqual(1, load.call_count)


class NoKeystoneTest(Base):
    """endpoint_override without auth_type: Mistral without Keystone."""

    def test_requests_go_to_the_url_with_the_timeout_and_no_token(self):
        self.load('endpoint_override = http://mistral.test:8989/v2\n')
        listed = self.http.get('http://mistral.test:8989/v2/workflows',
                               json={'workflows': []})
        self.service().delete_workflows('wf', 't')
        [request] = listed.request_history
        self.assertEqual(30, request.timeout)
        self.assertNotIn('X-Auth-Token', request.headers)
        self.assertEqual([], self.token_requests())

    def test_connect_retries_are_keystoneauths(self):
        self.load('endpoint_override = http://mistral.test:8989/v2\n'
                  'connect_retries = 2\nconnect_retry_delay = 0.01\n')
        listed = self.http.get('http://mistral.test:8989/v2/workflows',
                               [{'exc': requests.exceptions.ConnectionError},
                                {'exc': requests.exceptions.ConnectionError},
                                {'json': {'workflows': []}}])
        self.service().delete_workflows('wf', 't')
        self.assertEqual(3, listed.call_count)


class DeprecatedOptionsTest(Base):
    """The options keystoneauth's replace still work, read from a file."""

    def test_old_names_are_read_as_the_new_options(self):
        group = self.load('request_timeout = 7\n'
                          'endpoint_interface = admin\n')
        self.assertEqual(7, group.timeout)
        self.assertEqual(['admin'], group.valid_interfaces)

    def test_defaults(self):
        group = self.load('')
        self.assertEqual(30, group.timeout)
        self.assertEqual(['internal', 'public'], group.valid_interfaces)
        self.assertEqual('workflowv2', group.service_type)
        self.assertIsNone(group.region_name)

    def test_mistral_url_still_works_and_endpoint_override_wins(self):
        self.load('mistral_url = http://old.test:8989/v2\n')
        self.assertEqual('http://old.test:8989/v2',
                         self.service().url)
        self.load('mistral_url = http://old.test:8989/v2\n'
                  'endpoint_override = http://new.test:8989/v2\n')
        self.assertEqual('http://new.test:8989/v2',
                         self.service().url)

    def test_blank_endpoint_override_leaves_mistral_url(self):
        self.load('endpoint_override =\n'
                  'mistral_url = http://old.test:8989/v2\n')
        self.assertEqual('http://old.test:8989/v2', self.service().url)

    def test_bad_url_is_named_as_the_operator_wrote_it(self):
        self.load('endpoint_override = mistral.test:8989/v2\n')
        [problem] = self.problems()
        self.assertIn('[mistral_scheduler] endpoint_override has an invalid '
                      'value', problem)
        self.load('mistral_url = mistral.test:8989/v2\n')
        [problem] = self.problems()
        self.assertIn('[mistral_scheduler] mistral_url has an invalid '
                      'value', problem)

    def test_bad_interface_is_named(self):
        self.load('endpoint_override = http://mistral.test:8989/v2\n'
                  'valid_interfaces = internal,private\n')
        [problem] = self.problems()
        self.assertIn("[mistral_scheduler] valid_interfaces or a version "
                      "option has an invalid value: 'private' is not a "
                      "valid value for valid_interfaces", problem)

    def test_bad_timeout_is_named(self):
        self.load('endpoint_override = http://mistral.test:8989/v2\n'
                  'request_timeout = soon\n')
        [problem] = self.problems()
        self.assertIn('[mistral_scheduler] timeout has an invalid value',
                      problem)
