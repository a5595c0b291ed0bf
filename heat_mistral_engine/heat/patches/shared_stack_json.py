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

"""Nodes share their stack's decoded template and graph (inside heat-engine).

Every node loads its stack afresh (Heat's ``Resource.load`` calls
``Stack.load``, which reads the row with ``Stack.get_by_id``), and Heat
decodes the row's graph (``current_deps``) and its template's JSON for each
node. Worse than the decoding, an engine worker runs up to 64 nodes at
once, each holding its own decoded copy (tens of thousands of objects), and
Python's garbage collector scans all of them again and again (figures in
doc/source/benchmarks.rst, "Figures behind the code").

Inside a node (``lean_defn.node_scope``, which also covers Heat's
``show_stack``), ``Stack.get_by_id`` here reads the same row with the same
visibility (``stack_row.shared_row``) and decodes each distinct JSON text
once per engine worker (``frozen_json.SharedJson``): the nodes of a
traversal share one graph and one template's sections. The shared values
are frozen (``frozen_json``): code that tried to change them would raise
instead of changing what other nodes see. One Heat method writes into a
template's sections when asked to: ``param_schemata(param_defaults)``
puts the defaults into the parameters section (in Heat 27 only
``TemplateResource`` asks, on a provider template it parses itself), and
``add_resource``, ``remove_resource`` and ``merge_snippets`` change the
other sections in legacy updates, outside nodes. As a precaution each node
gets a template of its own at the top level, with a parameters section of
its own (``node_template``), and shares the rest (resources, outputs,
conditions...). Keyed by the exact text, a changed row is simply a new
entry.

Heat's private API is touched in this module only: ``install`` checks the
Heat version and the replaced method's parameters and otherwise leaves Heat
alone with a warning. ``[mistral_scheduler] share_decoded_stacks`` turns it
off.
"""

from heat.objects import stack as stack_object
from oslo_log import log as logging

from heat_mistral_engine.heat.cache import frozen_json
from heat_mistral_engine.heat.patches import heat_release
from heat_mistral_engine.heat.patches import lean_defn
from heat_mistral_engine.heat.patches import stack_row

LOG = logging.getLogger(__name__)

EXPECTED_PARAMS = ('context', 'stack_id', 'kwargs')
# Distinct JSON texts kept per engine worker: a graph and a template per
# traversal of each stack running there.
SIZE = 16
SHARED = frozen_json.SharedJson(SIZE)
# Template sections Heat changes on load (HOT, CFN): copied for each node.
PER_NODE_SECTIONS = ('parameters', 'Parameters')

_ORIGINAL = []


def check_heat():
    """Raise IncompatibleHeat unless Heat is what this module was read on.

    Checks the release, the parameters of ``Stack.get_by_id``, that the
    stack object still builds itself with ``_from_db_object``, and the
    stack table's columns (``stack_row.columns_problem``).
    """
    heat_release.check('shared stack JSON supports', (
        ('heat.objects.stack.Stack.get_by_id', stack_object.Stack.get_by_id,
         EXPECTED_PARAMS),))
    problem = (None if hasattr(stack_object.Stack, '_from_db_object') else
               'heat.objects.stack.Stack has no _from_db_object')
    problem = problem or stack_row.columns_problem()
    if problem:
        raise heat_release.IncompatibleHeat(problem)


def install(conf):
    """Share decoded stacks among nodes, if heat.conf allows it.

    Returns True when installed. Idempotent. With ``[mistral_scheduler]
    share_decoded_stacks = false``, or on an unexpected Heat (logged as a
    warning), Heat is left alone and False is returned.
    """
    if not conf.mistral_scheduler.share_decoded_stacks:
        LOG.info('[mistral_scheduler] share_decoded_stacks is false: each '
                 'node decodes its stack\'s template and graph, as Heat '
                 'does.')
        return False
    if installed():
        return True
    try:
        check_heat()
    except heat_release.IncompatibleHeat as exc:
        LOG.warning('Nodes decode their stack\'s template and graph each, '
                    'as Heat does: %s', exc)
        return False
    _ORIGINAL.append(stack_object.Stack.__dict__['get_by_id'])
    stack_object.Stack.get_by_id = classmethod(_get_by_id)
    return True


def installed():
    """Whether ``install`` replaced Heat's ``Stack.get_by_id``."""
    return bool(_ORIGINAL)


def uninstall():
    """Put Heat's method back and forget the shared values (for tests)."""
    if _ORIGINAL:
        stack_object.Stack.get_by_id = _ORIGINAL.pop()
    SHARED.clear()


def node_template(text):
    """A node's own template: its sections shared, except the parameters.

    The top level is a new dict; the sections in ``PER_NODE_SECTIONS`` are
    ordinary copies; every other section is the frozen value shared by all
    nodes that read the same text.
    """
    shared = SHARED.decode(text)
    if not isinstance(shared, dict):
        return shared
    own = dict(shared)
    for section in PER_NODE_SECTIONS:
        if section in own:
            own[section] = frozen_json.thaw(own[section])
    return own


def _get_by_id(cls, context, stack_id, **kwargs):
    """Heat's ``Stack.get_by_id``; in a node, with shared decoded JSON."""
    if not lean_defn.in_node_scope() or set(kwargs) - {'show_deleted'}:
        return _ORIGINAL[0].__func__(cls, context, stack_id, **kwargs)
    db_stack = stack_row.shared_row(
        context, stack_id, SHARED.decode, node_template,
        show_deleted=kwargs.get('show_deleted', False))
    if db_stack is None:
        return None
    return cls._from_db_object(context, cls(context), db_stack)
