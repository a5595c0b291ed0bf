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

"""Heat's sync-point data unpacked safely from many threads (heat-engine).

Heat's sync points unpack their keys with ``ast.literal_eval``, and
CPython's AST constructor keeps its recursion depth in state shared by all
threads (python/cpython#106905): nodes unpacking data at once in one engine
failed with "SystemError: AST constructor recursion depth mismatch". Every
unpacking goes through ``unpack``, which holds one lock per process.
"""

import threading

from heat.engine import sync_point

_LOCK = threading.Lock()


def unpack(packed):
    """``sync_point.deserialize_input_data`` of ``{'input_data': packed}``.

    ``packed`` is what Heat's ``serialize_input_data`` put under
    ``input_data``: a dict with packed tuple keys.
    """
    with _LOCK:
        return sync_point.deserialize_input_data({'input_data': packed})
