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

"""The entry point heat-engine imports: it installs the Mistral scheduler.

Heat has no scheduler plug point. Every heat-engine does import the modules
named in the ``heat.stack_lifecycle_plugins`` entry point group at start-up,
after heat.conf is parsed and before the engine forks its workers, in
convergence mode too (where lifecycle plugins are never called). Importing
this module therefore registers ``[mistral_scheduler]`` and, when it says
``enabled = true``, installs the scheduler into Heat (see ``startup.wiring``).
It also registers this package's resource types (``OS::Mistral::Hook``)
in every heat-engine, whether the scheduler is enabled or not, with the
warnings they give in ``openstack orchestration template validate``.
"""

from heat.engine import lifecycle_plugin
from oslo_config import cfg
from oslo_log import log as logging

from heat_mistral_engine import config

LOG = logging.getLogger(__name__)


class MistralSchedulerPlugin(lifecycle_plugin.LifecyclePlugin):
    """Registered only to be imported; its pre/post ops do nothing."""


def install(conf=cfg.CONF):
    """Install the scheduler into Heat if heat.conf enables it.

    Returns True when installed. Configuration errors are logged at ERROR
    with the option at fault; the scheduler is still installed so that
    stacks fail with that message instead of silently running natively.
    So is Heat's legacy engine (``[DEFAULT] convergence_engine = false``),
    under which only stacks stored with convergence reach the scheduler.
    """
    config.register_opts(conf)
    if not conf.mistral_scheduler.enabled:
        LOG.info('heat-mistral-engine loaded; [mistral_scheduler] enabled '
                 'is false, Heat orders stacks natively.')
        return False
    if not conf.convergence_engine:
        # Heat's legacy engine never calls the traversal starter the
        # plugin wraps. Stacks stored with convergence keep using it, so
        # the plugin is still installed for them.
        LOG.error('heat-mistral-engine is enabled, but [DEFAULT] '
                  'convergence_engine is false: Heat orders new stacks with '
                  'its legacy engine, which Mistral cannot order. Set '
                  '[DEFAULT] convergence_engine = true (Heat\'s default) '
                  'for Mistral to order them; only stacks created with '
                  'convergence are ordered by Mistral meanwhile.')
    # Here, not at the top: heat-engine imports this module whether the
    # scheduler is enabled or not, and the scheduler's modules import much
    # of Heat's private code; an engine that does not use them must not
    # depend on them.
    from heat_mistral_engine.heat.clients import mistral_api
    from heat_mistral_engine.heat.startup import wiring
    problems = mistral_api.config_problems(conf)
    for problem in problems:
        LOG.error('heat-mistral-engine is misconfigured: %s', problem)
    wiring.install(conf)
    if problems:
        LOG.error('heat-mistral-engine installed, but stack operations '
                  'will fail until heat.conf is fixed (see above).')
    else:
        LOG.info('heat-mistral-engine installed: Mistral orders convergence '
                 'traversals (Mistral API %s).',
                 mistral_api.url_option(conf)[1] or '<from catalog>')
    return True


def register_resource_types():
    """Make Heat know ``OS::Mistral::Hook``; never stops the engine.

    Returns True when registered. A failure is logged at ERROR and leaves
    the scheduler's installation alone. Also lets ``openstack
    orchestration template validate`` answer the hook's warnings
    (``validate_warnings``); without that, only that answer lacks them.
    """
    try:
        # Inside the try: a Heat these modules do not fit must be logged,
        # not stop heat-engine.
        from heat_mistral_engine.heat.patches import environment
        from heat_mistral_engine.heat.resources import mistral_hook
        environment.register_resource_types(mistral_hook.resource_mapping())
    except Exception:
        LOG.exception('heat-mistral-engine could not register its resource '
                      'types; templates using OS::Mistral::Hook will fail')
        return False
    try:
        from heat_mistral_engine.heat.patches import validate_warnings
        validate_warnings.install()
    except Exception:
        LOG.exception('heat-mistral-engine: openstack orchestration '
                      'template validate will not show OS::Mistral::Hook\'s '
                      'warnings')
    return True


register_resource_types()
install()
