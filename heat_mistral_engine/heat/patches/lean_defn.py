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

"""Nodes parse only the resource definitions they need.

A node loads its stack afresh (``Stack.load``), and Heat then parses every
resource definition of the template to find the node's own
(``StackDefinition.resource_definition`` parses them all) and scans all of
them to find the attributes other resources read from it
(``Resource.referenced_attrs``). For a stack of N resources that is O(N) per
node and O(N^2) per traversal. Heat's ``show_stack`` (every ``openstack
stack show``, and every poll of a client waiting for a stack) asks the
second question for every resource: O(N^2) per call (figures in
doc/source/benchmarks.rst, "Figures behind the code"). Inside a node run by
Mistral and inside ``show_stack`` (``node_scope``), this module makes those
lookups lean:

* ``StackDefinition.resource_definition(name)`` parses only ``name``, with
  Heat's own ``Template.resource_definitions`` applied to a copy of the
  template that holds that one resource;
* ``StackDefinition.enabled_rsrc_names()`` lists the template's resources
  without parsing them;
* ``Resource.referenced_attrs`` asks only the resources whose raw snippet
  can refer to the node's resource (it names it in a string, or computes a
  resource name in a function) instead of every resource; which snippets
  those are is found by one walk of the template per stack definition.

Why the results are Heat's (see also tests/unit/test_lean_defn.py):

* It applies only to templates whose class parses resources with Heat's own
  ``resource_definitions`` of HOT or CFN (each resource parsed on its own,
  from its snippet, the stack definition and the template's conditions), and
  only when no resource has a ``condition`` key: then every resource is
  enabled, so the names of the raw template are the enabled names and a
  single-resource parse yields the same definition as the full parse.
* Only three ``dep_attrs``/``all_dep_attrs`` implementations exist in Heat
  27 (``Function``, ``Macro``, ``GetAttThenSelect``); only the last one
  names a resource, by its first argument. A resource whose snippet holds
  no such call with a computed name, no function of an unknown class, and no
  string equal to the node's name, cannot return attributes of the node.
* Anything else (another template class, conditional resources, definitions
  already parsed by Heat, code outside a node) runs Heat's methods unchanged.
* One difference: Heat's full parse would raise StackValidationFailed for an
  invalid snippet of any resource; the lean path only parses the ones it
  needs. A node's template was validated when its stack was created or
  updated, so stored stacks do not differ.

Heat's private API is touched in this module only; ``install`` checks the
Heat version and the replaced methods' signatures and otherwise leaves Heat
alone with a warning. ``[mistral_scheduler] lean_node_definitions`` turns
it off.
"""

import contextlib
import inspect
import itertools
import threading

import cachetools
from heat.engine import attributes
from heat.engine.cfn import template as cfn_template
from heat.engine import function
from heat.engine.hot import functions as hot_functions
from heat.engine.hot import template as hot_template
from heat.engine import resource
from heat.engine import service
from heat.engine import stk_defn
from oslo_log import log as logging

from heat_mistral_engine.heat.patches import heat_release

LOG = logging.getLogger(__name__)

# (owner, method name, expected parameters) of what is replaced.
REPLACED = (
    (stk_defn.StackDefinition, 'resource_definition',
     ('self', 'resource_name')),
    (stk_defn.StackDefinition, 'enabled_rsrc_names', ('self',)),
    (resource.Resource, 'referenced_attrs',
     ('self', 'stk_defn', 'in_resources', 'in_outputs', 'load_all')),
    (service.EngineService, 'show_stack',
     ('self', 'cnxt', 'stack_identity', 'resolve_outputs')),
)

# Filled by install() from Heat (see _read_heat): the template parsers known
# to parse each resource on its own, and Heat's implementations of the
# dependency-attribute queries. Only the GetAttThenSelect ones name a
# resource (by their first argument).
KNOWN_PARSERS = ()
SAFE_DEP_ATTRS = ()
SAFE_ALL_DEP_ATTRS = ()
GET_ATTR_DEP_ATTRS = None
GET_ATTR_ALL_DEP_ATTRS = None
# StackDefinition attributes read here, set in its __init__.
DEFN_ATTRIBUTES = ('self._template', 'self._resource_defns')
CONDITION_KEYS = frozenset(('condition', 'Condition'))

_ORIGINALS = {}
_scope = threading.local()


def check_heat():
    """Raise IncompatibleHeat unless Heat is what this module was written for.

    Checks the release, the attributes ``StackDefinition`` sets, Heat's
    template and function classes (``_read_heat``) and the parameters of
    every replaced method.
    """
    heat_release.check('lean node definitions support')
    source = inspect.getsource(stk_defn.StackDefinition.__init__)
    for attribute in DEFN_ATTRIBUTES:
        if attribute not in source:
            raise heat_release.IncompatibleHeat(
                'StackDefinition no longer sets %s' % attribute)
    _read_heat()
    heat_release.check(signatures=[
        ('%s.%s' % (owner.__name__, name),
         _ORIGINALS.get((owner, name), getattr(owner, name, None)), expected)
        for owner, name, expected in REPLACED])


def _read_heat():
    """Look up the Heat classes and methods the lean path relies on."""
    global KNOWN_PARSERS, SAFE_DEP_ATTRS, SAFE_ALL_DEP_ATTRS
    global GET_ATTR_DEP_ATTRS, GET_ATTR_ALL_DEP_ATTRS
    try:
        KNOWN_PARSERS = (
            hot_template.HOTemplate20130523.resource_definitions,
            cfn_template.CfnTemplateBase.resource_definitions)
        SAFE_DEP_ATTRS = (function.Function.dep_attrs,
                          function.Macro.dep_attrs)
        SAFE_ALL_DEP_ATTRS = (function.Function.all_dep_attrs,
                              function.Macro.all_dep_attrs)
        GET_ATTR_DEP_ATTRS = hot_functions.GetAttThenSelect.dep_attrs
        GET_ATTR_ALL_DEP_ATTRS = hot_functions.GetAttThenSelect.all_dep_attrs
    except AttributeError as exc:
        raise heat_release.IncompatibleHeat(
            'Heat\'s template classes changed: %s' % exc)


def install(conf):
    """Apply the lean lookups to node scopes, if heat.conf allows it.

    Returns True when installed. Idempotent. With ``[mistral_scheduler]
    lean_node_definitions = false``, or on an unexpected Heat (logged as a
    warning), Heat is left alone and False is returned.
    """
    if not conf.mistral_scheduler.lean_node_definitions:
        LOG.info('[mistral_scheduler] lean_node_definitions is false: '
                 'nodes parse every resource definition, as Heat does.')
        return False
    if installed():
        return True
    try:
        check_heat()
    except heat_release.IncompatibleHeat as exc:
        LOG.warning('Lean node definitions not installed, nodes parse every '
                    'resource definition as Heat does: %s', exc)
        return False
    for owner, name, _params in REPLACED:
        _ORIGINALS[(owner, name)] = getattr(owner, name)
    stk_defn.StackDefinition.resource_definition = _resource_definition
    stk_defn.StackDefinition.enabled_rsrc_names = _enabled_rsrc_names
    resource.Resource.referenced_attrs = _referenced_attrs
    service.EngineService.show_stack = _show_stack
    return True


def installed():
    """Whether ``install`` replaced Heat's methods."""
    return bool(_ORIGINALS)


def uninstall():
    """Put Heat's methods back (for tests)."""
    for (owner, name), method in _ORIGINALS.items():
        setattr(owner, name, method)
    _ORIGINALS.clear()


@contextlib.contextmanager
def node_scope():
    """Within this block, this thread's stack definitions are lean.

    A node's run, and Heat's ``show_stack`` (``_show_stack``).
    """
    depth = getattr(_scope, 'depth', 0)
    _scope.depth = depth + 1
    try:
        yield
    finally:
        _scope.depth = depth


def in_node_scope():
    """Whether this thread is inside a ``node_scope`` block."""
    return getattr(_scope, 'depth', 0) > 0


def _original(owner, name):
    return _ORIGINALS[(owner, name)]


class _Lean:
    """Per-StackDefinition state of the lean path."""

    __slots__ = ('defns', 'eligible', 'referrers')

    def __init__(self):
        self.defns = {}   # name -> (raw snippet, ResourceDefinition)
        self.eligible = (None, None)   # (resources map, its size), result
        # (resources map, its size), its _Referrers
        self.referrers = (None, None)


def _raw_resources(defn):
    tmpl = defn._template
    return tmpl.t.get(tmpl.RESOURCES) or {}


def lean_applies(defn):
    """Whether ``defn`` (a StackDefinition) may take the lean path now."""
    if not (installed() and in_node_scope()):
        return False
    if defn._resource_defns is not None:
        return False   # Heat parsed everything already: use that.
    tmpl = defn._template
    if type(tmpl).resource_definitions not in KNOWN_PARSERS:
        return False
    # Checked once per stack definition (a node asks many times), again if
    # its template's resources change.
    raw = _raw_resources(defn)
    state = _state(defn)
    checked, eligible = state.eligible
    if not _describes(checked, raw):
        keys = CONDITION_KEYS | {getattr(tmpl, 'RES_CONDITION', 'condition')}
        eligible = all(isinstance(snippet, dict)
                       and not keys.intersection(snippet)
                       for snippet in raw.values())
        state.eligible = (raw, len(raw)), eligible
    return eligible


def _describes(stamp, raw):
    """Whether ``stamp`` (a resources map and its size) is still ``raw``."""
    return stamp is not None and stamp[0] is raw and stamp[1] == len(raw)


def _state(defn):
    state = getattr(defn, '_hme_lean', None)
    if state is None:
        state = defn._hme_lean = _Lean()
    return state


def parse_one(defn, name):
    """Heat's definition of resource ``name``, parsing only that resource."""
    raw = _raw_resources(defn)
    snippet = raw[name]
    state = _state(defn)
    cached = state.defns.get(name)
    if cached is not None and cached[0] is snippet:
        return cached[1]
    tmpl = defn._template
    # Conditions are cached on the template (per stack definition): compute
    # them there first so that the copy shares them.
    tmpl.conditions(defn)
    view = object.__new__(type(tmpl))
    view.__dict__.update(tmpl.__dict__)
    view.t = dict(tmpl.t)
    view.t[tmpl.RESOURCES] = {name: snippet}
    parsed = view.resource_definitions(defn)[name]
    state.defns[name] = (snippet, parsed)
    return parsed


def _resource_definition(self, resource_name):
    if lean_applies(self):
        return parse_one(self, resource_name)
    return _original(stk_defn.StackDefinition,
                     'resource_definition')(self, resource_name)


def _enabled_rsrc_names(self):
    if lean_applies(self):
        return set(_raw_resources(self))
    return _original(stk_defn.StackDefinition, 'enabled_rsrc_names')(self)


def may_refer_to(tmpl, snippet, name):
    """False only if ``snippet`` cannot return attributes of ``name``.

    True when a string in the snippet (a key or a value) equals ``name``,
    or when it calls a function that could name a resource some other way:
    a get_attr whose resource name is not a plain string, or a function
    class whose dependency-attribute methods are not Heat's known ones.
    """
    strings, computes = _scan(tmpl.functions, snippet)
    return computes or name in strings


def _scan(functions, snippet):
    """(every string in ``snippet``, whether it may compute a name).

    A function call is a dict of one key naming a function, as Heat's
    template parsers read it.
    """
    strings = set()
    computes = False
    pending = [snippet]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            strings.add(item)
        elif isinstance(item, dict):
            if not computes and len(item) == 1:
                fn_name, args = next(iter(item.items()))
                func = functions.get(fn_name)
                computes = func is not None and _may_compute_name(func,
                                                                  args)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return strings, computes


class _Referrers:
    """Which resources of a template may refer to which names.

    Built by one walk of every snippet, so that asking for every resource
    (``show_stack``) costs O(N), not O(N^2); shared by every stack
    definition of the same resources (see ``referrers_of``).
    """

    __slots__ = ('by_string', 'to_any')

    def __init__(self, functions, raw):
        self.by_string = {}   # string -> names of snippets holding it
        self.to_any = set()   # names of snippets that may compute a name
        for name, snippet in raw.items():
            strings, computes = _scan(functions, snippet)
            if computes:
                self.to_any.add(name)
            for string in strings:
                self.by_string.setdefault(string, set()).add(name)

    def of(self, name):
        return self.to_any | self.by_string.get(name, set())


# Indexes of the resources maps of the last templates seen, by their text
# (thread-safe: an LRU cache under a lock, indexes built outside it).
REFERRERS_CACHE_SIZE = 16
_referrers_cache = cachetools.LRUCache(REFERRERS_CACHE_SIZE)


def _referrers_key(tmpl, raw):
    return type(tmpl), repr(raw)


@cachetools.cached(_referrers_cache, key=_referrers_key,
                   lock=threading.Lock())
def _class_referrers(tmpl, raw):
    return _Referrers(tmpl.functions, raw)


def referrers_of(tmpl, raw):
    """The ``_Referrers`` of ``raw``, the resources map of template ``tmpl``.

    Every node loads its stack, and so its template, afresh: building the
    index again in each node cost O(N) per node, O(N^2) per traversal. The
    index depends only on the snippets and the template class's functions,
    so indexes are kept for the last ``REFERRERS_CACHE_SIZE`` resources
    maps, found again by their full text (``repr``, which tells apart every
    value a stored template can hold, at a fraction of the index's cost).
    A template whose functions are not its class's own is indexed every
    time.
    """
    cls = type(tmpl)
    if tmpl.functions is not cls.functions:
        return _Referrers(tmpl.functions, raw)
    return _class_referrers(tmpl, raw)


def _names_no_resource(func):
    return (isinstance(func, type)
            and func.dep_attrs in SAFE_DEP_ATTRS
            and func.all_dep_attrs in SAFE_ALL_DEP_ATTRS)


def _names_resource_by_first_arg(func):
    return (isinstance(func, type)
            and func.dep_attrs is GET_ATTR_DEP_ATTRS
            and func.all_dep_attrs is GET_ATTR_ALL_DEP_ATTRS)


def _may_compute_name(func, args):
    if _names_no_resource(func):
        return False
    if _names_resource_by_first_arg(func):
        return not (isinstance(args, (list, tuple)) and args
                    and isinstance(args[0], str))
    return True


def referring_names(defn, name):
    """Names of the resources whose definitions may refer to ``name``."""
    raw = _raw_resources(defn)
    state = _state(defn)
    stamp, referrers = state.referrers
    if not _describes(stamp, raw):
        referrers = referrers_of(defn._template, raw)
        state.referrers = ((raw, len(raw)), referrers)
    return sorted(referrers.of(name))


def _referenced_attrs(self, stk_defn=None, in_resources=True,
                      in_outputs=True, load_all=False):
    original = _original(resource.Resource, 'referenced_attrs')
    defn = self.stack.defn if stk_defn is None else stk_defn
    if not (in_resources and lean_applies(defn)):
        return original(self, stk_defn, in_resources, in_outputs, load_all)
    # Heat's own method for the outputs (and the ALL_ATTRIBUTES expansion),
    # plus the resources that can refer to this one, expanded alike.
    found = original(self, defn, False, in_outputs, load_all)
    from_resources = set(itertools.chain.from_iterable(
        parse_one(defn, other).dep_attrs(self.name, load_all)
        for other in referring_names(defn, self.name)))
    if attributes.ALL_ATTRIBUTES in from_resources:
        from_resources.remove(attributes.ALL_ATTRIBUTES)
        from_resources |= (set(self.attributes) - {self.SHOW})
    return found | from_resources


def _show_stack(self, cnxt, stack_identity, resolve_outputs=True):
    """Heat's ``show_stack``, its stacks' definitions lean (see above)."""
    with node_scope():
        return _original(service.EngineService, 'show_stack')(
            self, cnxt, stack_identity, resolve_outputs)
