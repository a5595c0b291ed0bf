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

"""Read the operator hooks file heat.conf names (inside heat-engine).

``[mistral_scheduler] operator_hooks_file`` names a YAML file (format:
``graph.operator_hooks``). It is read when a traversal starts and when a
stack is validated, and parsed again only when its modification time or
size changed, so an operator edits it without restarting heat-engine; a
traversal keeps the hooks it started with (they are compiled into its
workflow and sealed into its token).
"""

import os
import threading

from oslo_config import cfg

from heat_mistral_engine import config
from heat_mistral_engine.graph import operator_hooks

_lock = threading.Lock()
_cache = {}


def load(conf=cfg.CONF):
    """The configured hooks (a tuple; empty when no file is configured).

    :raises operator_hooks.HooksFileError: the file cannot be read or is
        not a valid hooks file; the message names it (and the entry).
    """
    path = conf[config.GROUP].operator_hooks_file
    if not path:
        return ()
    try:
        info = os.stat(path)
        stamp = (info.st_mtime_ns, info.st_size)
        with _lock:
            cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with open(path, encoding='utf-8') as stream:
            text = stream.read()
    except OSError as exc:
        raise operator_hooks.HooksFileError(
            '[%s] operator_hooks_file %s cannot be read: %s'
            % (config.GROUP, path, exc.strerror or exc))
    except UnicodeDecodeError as exc:
        raise operator_hooks.HooksFileError(
            '[%s] operator_hooks_file %s is not UTF-8 text (byte %d)'
            % (config.GROUP, path, exc.start))
    hooks = operator_hooks.parse(text, source=path)
    with _lock:
        _cache[path] = (stamp, hooks)
    return hooks
