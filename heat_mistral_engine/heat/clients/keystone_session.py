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

"""One keystoneauth session per process for the Mistral client.

heat-engine builds a ``MistralService`` for each stack action, node and
poll. Each used to load its own auth plugin and session, so each fetched a
new Keystone token and opened new connections. The session, its auth plugin
(which caches the token and the catalog until the token expires) and the
Adapter built from ``[mistral_scheduler]`` are made once per process here
instead. The cache is keyed by process id: heat-engine forks its workers,
and a session (its connection pool, its token) made before a fork must not
be shared by the children.
"""

import os
import threading

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from heat_mistral_engine import config

_lock = threading.Lock()
# (pid, ConfigOpts) -> keystoneauth1.adapter.Adapter
_adapters = {}


def adapter(conf=cfg.CONF):
    """The process's keystoneauth Adapter for Mistral, made on first use.

    Takes the ``ConfigOpts`` holding ``[mistral_scheduler]``. Returns an
    Adapter over one Session with the group's session options (timeout,
    cafile, ...), its auth plugin (none without ``auth_type``: Mistral
    without authentication) and its Adapter options (service_type,
    region_name, valid_interfaces, endpoint_override, connect_retries,
    ...). Raises what keystoneauth's loaders raise for options they cannot
    use (``mistral_api.config_problems`` reports those first). Later
    calls in the same process return the same Adapter.
    """
    key = (os.getpid(), id(conf))
    with _lock:
        found = _adapters.get(key)
        if found is None:
            found = _make(conf)
            _adapters[key] = found
        return found


def _make(conf):
    auth = None
    if conf[config.GROUP].auth_type:
        auth = ks_loading.load_auth_from_conf_options(conf, config.GROUP)
    session = ks_loading.load_session_from_conf_options(
        conf, config.GROUP, auth=auth)
    return ks_loading.load_adapter_from_conf_options(
        conf, config.GROUP, session=session, auth=auth)


def reset():
    """Forget every Adapter, so that the next use reads the options again.

    For tests, which change the options between cases; heat-engine reads
    them once.
    """
    with _lock:
        _adapters.clear()
