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
