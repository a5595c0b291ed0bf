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

"""A small thread-safe cache of the last values built (inside heat-engine).

Nodes of one traversal, running in many threads of an engine worker, ask
for the same derived data (a traversal's graph, a template's referrers
index). ``BoundedCache.get_or_build`` builds a missing value outside the
lock, so two threads may build the same value once each (equal results);
a build that raises stores nothing. Only the last ``size`` keys used are
kept.
"""

import collections
import threading


class BoundedCache:
    """The values of the last ``size`` keys used; thread-safe."""

    def __init__(self, size):
        self._size = size
        self._values = collections.OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key, build):
        """The value kept for ``key``, else ``build()``, then kept."""
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
                return found
        built = build()
        with self._lock:
            self._values[key] = built
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return built

    def clear(self):
        with self._lock:
            self._values.clear()

    def __len__(self):
        return len(self._values)
