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

"""The dependency graph of a template, offline, with the kind of each edge.

Heat's own parser builds the stack in memory (no database, no services) and
Heat's own dependency graph gives the edges; this module only labels them:

``get_attr``, ``get_resource``
    a function of that kind in the dependent's properties or metadata;
``depends_on``
    the dependent's ``depends_on``;
``hosted_on``
    the dependent's ``hosted_on`` key (``2021-04-16-hosted`` templates), or
    the ``server``/``servers`` property of a software deployment;
``metadata``
    the reference is in the dependent's metadata (with its function kind);
``function``
    another function refers to the resource;
``implicit``
    Heat added the edge itself (a resource type's implicit dependency).

One edge can have several kinds. Resources whose condition is false are not
in the stack, so they get no task and no edge.
"""

import collections
import dataclasses
import logging

from heat.common import context as heat_context
from heat.common import environment_format
from heat.common import template_format
from heat.engine import environment
from heat.engine import function
from heat.engine.hot import functions as hot_functions
from heat.engine import resources
from heat.engine import stack as heat_stack
from heat.engine import template as heat_template

from heat_mistral_engine.graph import model
from heat_mistral_engine.heat.resources import hosted_template

DEPLOYMENT_TYPES = frozenset((
    'OS::Heat::SoftwareDeployment', 'OS::Heat::StructuredDeployment',
    'OS::Heat::SoftwareDeploymentGroup', 'OS::Heat::StructuredDeploymentGroup',
))
DEPLOYMENT_HOST_PROPERTIES = frozenset(('server', 'servers'))


@dataclasses.dataclass(frozen=True)
class Edge:
    """``source`` must be done before ``target`` starts (CREATE order)."""

    source: str
    target: str
    kinds: tuple


def load_stack(template_text, environments=(), parameters=None,
               files=None, name='offline'):
    """Parse a template with Heat's parser into an in-memory Stack.

    :param template_text: the template, YAML or JSON text.
    :param environments: environment file texts, merged in order.
    :param parameters: {name: value}, taking precedence over environments.
    :param files: {path: text} for get_file and provider templates.
    :raises heat.common.exception.StackValidationFailed: and Heat's other
        template errors, with Heat's messages.
    """
    _init_heat()
    env = {}
    for text in environments:
        _merge_environment(env, environment_format.parse(text))
    env.setdefault('parameters', {}).update(parameters or {})
    tmpl = heat_template.Template(template_format.parse(template_text),
                                  files=files,
                                  env=environment.Environment(env))
    cnxt = heat_context.RequestContext(user_id='offline',
                                       project_id='offline', is_admin=True)
    return heat_stack.Stack(cnxt, name, tmpl)


def edges(stack):
    """Every edge of Heat's dependency graph, labelled, in a stable order."""
    labelled = []
    hosts = hosted_template.hosted_targets(stack.t.t)
    for requirer, required in stack.dependencies.graph().items():
        if not required:
            continue
        kinds = _reference_kinds(stack, requirer, hosts)
        for req in sorted(required, key=lambda r: r.name):
            labelled.append(Edge(req.name, requirer.name,
                                 tuple(sorted(kinds.get(req.name)
                                              or ('implicit',)))))
    return sorted(labelled, key=lambda e: (e.target, e.source))


def task_graph(stack, action='CREATE'):
    """A TaskGraph like the one heat-engine compiles for a new stack.

    Resource ids are placeholders (1..n in name order): live ids come from
    Heat's database. CREATE nodes are create/update nodes; DELETE nodes are
    cleanup nodes with every edge reversed. Edges carry their kinds.
    """
    if action not in ('CREATE', 'DELETE'):
        raise ValueError('action must be CREATE or DELETE, not %s' % action)
    is_update = action == 'CREATE'
    names = sorted(stack.resources)
    ids = {name: index for index, name in enumerate(names, start=1)}
    nodes = [model.Node(ids[n], is_update, n, stack.resources[n].type())
             for n in names]
    kinds = {}
    for edge in edges(stack):
        first, then = edge.source, edge.target
        if not is_update:
            first, then = then, first
        kinds[((ids[first], is_update), (ids[then], is_update))] = edge.kinds
    return model.TaskGraph(nodes, list(kinds), kinds=kinds)


def _reference_kinds(stack, rsrc, hosts):
    """{required name: set of kinds} for the references of one resource."""
    kinds = collections.defaultdict(set)
    # render_hot() gives the definition in template syntax; parsing it
    # again with the stack's template gives Heat's function objects.
    rendered = stack.t.parse(stack.defn, rsrc.t.render_hot())
    raw = (stack.t.t.get(stack.t.RESOURCES) or {}).get(rsrc.name) or {}
    raw_depends = raw.get(stack.t.RES_DEPENDS_ON) or []
    if isinstance(raw_depends, str):
        raw_depends = [raw_depends]
    for name in raw_depends:
        kinds[name].add('depends_on')
    if rsrc.name in hosts:
        kinds[hosts[rsrc.name]].add('hosted_on')
    for key, value in (rendered.get('properties') or {}).items():
        found = _function_kinds(value)
        for name, fkinds in found.items():
            kinds[name] |= fkinds
            if (rsrc.type() in DEPLOYMENT_TYPES
                    and key in DEPLOYMENT_HOST_PROPERTIES):
                kinds[name].add('hosted_on')
    for name, fkinds in _function_kinds(rendered.get('metadata')).items():
        kinds[name] |= fkinds | {'metadata'}
    return kinds


def _function_kinds(snippet):
    """{resource name: kinds} for the functions in a parsed snippet."""
    found = collections.defaultdict(set)
    if isinstance(snippet, function.Function):
        if isinstance(snippet, hot_functions.GetAttThenSelect):
            kind = 'get_attr'
        elif isinstance(snippet, hot_functions.GetResource):
            kind = 'get_resource'
        else:
            kind = None
            for name, inner in _function_kinds(snippet.args).items():
                found[name] |= inner
        for dep in snippet.dependencies(''):
            if kind is not None:
                found[dep.name].add(kind)
            elif dep.name not in found:
                found[dep.name].add('function')
    elif isinstance(snippet, dict):
        for value in snippet.values():
            for name, inner in _function_kinds(value).items():
                found[name] |= inner
    elif isinstance(snippet, (list, tuple)):
        for value in snippet:
            for name, inner in _function_kinds(value).items():
                found[name] |= inner
    return found


def _merge_environment(env, new):
    """Merge one parsed environment into ``env`` as heatclient does."""
    for section, value in new.items():
        if isinstance(value, dict) and isinstance(env.get(section), dict):
            env[section] = dict(env[section], **value)
        else:
            env[section] = value


_initialised = False


def _init_heat():
    """Heat's option defaults and resource plugins, once per process."""
    global _initialised
    if _initialised:
        return
    from heat.common import config as heat_config  # noqa: F401 (options)
    # Plugin loading warns about every retired resource type.
    logging.getLogger('heat.engine.environment').setLevel(logging.ERROR)
    resources.initialise()
    _initialised = True
