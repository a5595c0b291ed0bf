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

"""Decoded JSON that many readers share and none may change (pure).

Nodes of one traversal running in an engine worker each decode the same
large JSON texts (their stack's template and graph). ``SharedJson.decode``
decodes each distinct text once and hands every caller the same value,
made of ``FrozenDict`` and ``FrozenList``: they are ``dict`` and ``list``
to every reader (isinstance, json.dumps, equality), but any change raises
``TypeError`` instead of silently altering what other callers see.
``copy.deepcopy`` and ``copy.copy`` give ordinary, changeable dicts and
lists.

The key is the exact text, so a changed row is a new entry: no rule about
when a row may change is needed.
"""

import copy
import json
import threading

import cachetools


def _refuse(self, *args, **kwargs):
    raise TypeError('%s is shared by every node of a stack and cannot be '
                    'changed; copy it first' % type(self).__name__)


class FrozenDict(dict):
    """A dict whose contents cannot change."""

    __slots__ = ()
    __setitem__ = __delitem__ = clear = pop = popitem = _refuse
    setdefault = update = __ior__ = _refuse

    def __copy__(self):
        return dict(self)

    def __deepcopy__(self, memo):
        return {copy.deepcopy(k, memo): copy.deepcopy(v, memo)
                for k, v in self.items()}

    def __reduce__(self):
        return (dict, (dict(self),))


class FrozenList(list):
    """A list whose contents cannot change."""

    __slots__ = ()
    __setitem__ = __delitem__ = append = extend = insert = _refuse
    pop = remove = clear = sort = reverse = __iadd__ = __imul__ = _refuse

    def __copy__(self):
        return list(self)

    def __deepcopy__(self, memo):
        return [copy.deepcopy(v, memo) for v in self]

    def __reduce__(self):
        return (list, (list(self),))


def freeze(value):
    """``value`` (decoded JSON) with every dict and list made frozen."""
    if isinstance(value, dict):
        return FrozenDict((k, freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return FrozenList(freeze(v) for v in value)
    return value


def thaw(value):
    """An ordinary, changeable copy of frozen (or any) decoded JSON."""
    return copy.deepcopy(value)


class SharedJson:
    """Decodes JSON texts, once per distinct text among the last ``size``.

    Thread-safe (an LRU cache under a lock). A text is decoded outside the
    lock, so two threads may decode the same text once each (equal
    values); a text that fails to decode stores nothing.
    """

    def __init__(self, size):
        self._cache = cachetools.LRUCache(size)
        self._lock = threading.Lock()
        self._decode = cachetools.cached(self._cache, lock=self._lock)(
            _decode_frozen)

    def decode(self, text):
        """The frozen value of ``text`` (None stays None)."""
        if text is None:
            return None
        return self._decode(text)

    def clear(self):
        with self._lock:
            self._cache.clear()

    def __len__(self):
        return len(self._cache)


def _decode_frozen(text):
    return freeze(json.loads(text))
