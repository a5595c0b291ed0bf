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

"""Register this package's resource types in Heat's global environment.

``register_resource_types`` (every heat-engine, scheduler enabled or not)
makes Heat's global environment know ``OS::Mistral::Hook``: Heat fills that
environment only from its own package and ``plugin_dirs``, so the type is
registered into the environment Heat is building, just before Heat reads
the operator's ``environment.d`` files (which may still remap it, as any
built-in type).
"""

import functools

from heat.engine import environment as heat_environment
from heat.engine import resources as heat_resources
from oslo_log import log as logging

from heat_mistral_engine.heat.patches import heat_release

LOG = logging.getLogger(__name__)

_EXPECTED_READ_ENV_PARAMS = ('env', 'env_dir')


def register_resource_types(mapping):
    """Register ``{type name: Resource class}`` in Heat's global environment.

    heat-engine imports the plugin module (which calls this) while Heat
    builds its global environment (``heat.engine.resources.initialise``),
    between loading its own resource types and reading ``environment.d``.
    The environment being built is reachable only as the argument of
    ``read_global_environment``, which is therefore wrapped to register
    the types first. Called after the environment exists (tests, other
    processes), the types are registered into it directly. Idempotent.

    :raises heat_release.IncompatibleHeat: ``read_global_environment``
        does not take the parameters it is wrapped for.
    """
    built = heat_resources._environment
    if built is not None:
        _register_classes(built, mapping)
        return
    read = heat_environment.read_global_environment
    pending = getattr(read, '_hme_types', None)
    if pending is not None:
        pending.update(mapping)
        return
    problem = heat_release.signature_problem(
        'heat.engine.environment.read_global_environment', read,
        _EXPECTED_READ_ENV_PARAMS)
    if problem:
        raise heat_release.IncompatibleHeat(problem)

    @functools.wraps(read)
    def read_global_environment(env, env_dir=None):
        _register_classes(env, read_global_environment._hme_types)
        return read(env, env_dir)

    read_global_environment._hme_types = dict(mapping)
    read_global_environment._hme_original = read
    heat_environment.read_global_environment = read_global_environment


def _register_classes(env, mapping):
    for name, cls in sorted(mapping.items()):
        env.register_class(name, cls)
        LOG.info('heat-mistral-engine registered resource type %s', name)
