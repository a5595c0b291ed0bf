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

"""Common unit-test base: a parsed, resettable oslo.config for each test."""

import dataclasses
from unittest import mock

from heat.common import config as heat_config  # noqa: F401 (registers opts)
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import fixtures
from heat.engine import stack as heat_stack
from heat.engine import worker as heat_worker
import testtools

from heat_mistral_engine import config
from heat_mistral_engine.heat.clients import heartbeat
from heat_mistral_engine.heat.clients import keystone_session
from heat_mistral_engine.heat.patches import convergence


class TestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(cfg.CONF))
        cfg.CONF([], project='heat', default_config_files=[],
                 default_config_dirs=[])
        config.register_opts(cfg.CONF)
        self.conf.config(auth_encryption_key='k' * 32)
        # Each test's options make their own session (one per process
        # in heat-engine).
        keystone_session.reset()
        self.addCleanup(keystone_session.reset)
        # No database: engines have no heartbeat (judged by the liveness
        # check alone); tests of heartbeats give their own.
        self.useFixture(fixtures.MockPatchObject(
            heartbeat, 'last_beat', lambda engine_id, cnxt=None: None))


class FakeClock:
    """A monotonic clock that moves only when a test sets ``now``."""

    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


class HeatDbTestCase(TestCase):
    """A test on Heat's own sqlite test database, with one stored stack.

    ``self.ctx`` is a context of the stack's project; ``self.stack`` a
    convergence stack named ``stack_name`` of ``template`` in CREATE
    IN_PROGRESS, with a stack user project, and ``stack_kwargs``.
    """

    stack_name = 'stack'
    template = {'heat_template_version': '2021-04-16', 'resources': {}}
    stack_kwargs = {}

    def setUp(self):
        super().setUp()
        from heat.engine import resources
        from heat.engine import template as heat_template
        from heat.tests import utils as heat_test_utils
        resources.initialise()   # Heat's plugins and their options, once
        self.conf.config(
            keystone_backend='heat.engine.clients.os.keystone.'
                             'fake_keystoneclient.FakeKeystoneClient')
        heat_test_utils.setup_dummy_db()
        self.addCleanup(heat_test_utils.reset_dummy_db)
        self.ctx = heat_test_utils.dummy_context()
        self.stack = heat_stack.Stack(
            self.ctx, self.stack_name, heat_template.Template(self.template),
            convergence=True, status='IN_PROGRESS', action='CREATE',
            stack_user_project_id='stack-user-project', **self.stack_kwargs)
        self.stack.store()

    @staticmethod
    def context(project_id, is_admin=False):
        from heat.tests import utils as heat_test_utils
        return heat_test_utils.dummy_context(tenant_id=project_id,
                                             is_admin=is_admin)

    def visibility_cases(self):
        """(context, whether Heat's stack_get shows it the stack)."""
        return ((self.context('another-project'), False),
                (self.context('another-project', is_admin=True), True),
                (self.context('stack-user-project'), True),
                (self.context(self.ctx.project_id), True))


# Every Heat method patches.convergence.install replaces.
PATCHED_HEAT_METHODS = ((heat_stack.Stack, '_converge_create_or_update'),
                        (heat_stack.Stack, 'validate'),
                        (heat_worker.WorkerService, 'start'),
                        (heat_worker.WorkerService, 'stop_traversal'))


def restore_patched_heat(test):
    """Put Heat's own methods back after ``test`` (which may install)."""
    for cls, attr in PATCHED_HEAT_METHODS:
        test.useFixture(fixtures.MonkeyPatch(
            '%s.%s.%s' % (cls.__module__, cls.__name__, attr),
            getattr(cls, attr)))


def scheduler(**callables):
    """A ``convergence.Scheduler`` of mocks, with ``callables`` in place."""
    fields = {field.name: mock.Mock()
              for field in dataclasses.fields(convergence.Scheduler)}
    fields.update(callables)
    return convergence.Scheduler(**fields)
