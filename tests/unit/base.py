"""Common unit-test base: a parsed, resettable oslo.config for each test."""

from heat.common import config as heat_config  # noqa: F401 (registers opts)
from oslo_config import cfg
from oslo_config import fixture as config_fixture
import fixtures
from heat.engine import stack as heat_stack
from heat.engine import worker as heat_worker
import testtools

from heat_mistral_engine import config


class TestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(cfg.CONF))
        cfg.CONF([], project='heat', default_config_files=[],
                 default_config_dirs=[])
        config.register_opts(cfg.CONF)
        self.conf.config(auth_encryption_key='k' * 32)


# Every Heat method heat.hooks.install replaces.
HOOKED_HEAT_METHODS = ((heat_stack.Stack, '_converge_create_or_update'),
                       (heat_stack.Stack, 'validate'),
                       (heat_worker.WorkerService, 'start'),
                       (heat_worker.WorkerService, 'stop_traversal'))


def restore_hooked_heat(test):
    """Put Heat's own methods back after ``test`` (which may install)."""
    for cls, attr in HOOKED_HEAT_METHODS:
        test.useFixture(fixtures.MonkeyPatch(
            '%s.%s.%s' % (cls.__module__, cls.__name__, attr),
            getattr(cls, attr)))
