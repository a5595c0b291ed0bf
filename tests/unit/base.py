"""Common unit-test base: a parsed, resettable oslo.config for each test."""

from heat.common import config as heat_config  # noqa: F401 (registers opts)
from oslo_config import cfg
from oslo_config import fixture as config_fixture
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
