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

"""The unit-test templates, loaded as `heat-mistral-engine graph` would.

A case is ``tests/unit/templates/NAME.yaml``; ``NAME.env.yaml`` beside it,
if present, is its environment, and everything under ``templates/files`` is
its ``files`` map (keyed by the name a template uses in get_file or in a
resource_registry). Provider templates live in ``files`` so that they are
not cases of their own.
"""

import os

from heat_mistral_engine.heat.traversal import template_graph

TEMPLATES = os.path.join(os.path.dirname(__file__), 'templates')
FILES = os.path.join(TEMPLATES, 'files')
ENV_SUFFIX = '.env.yaml'


def _read(path):
    with open(path) as f:
        return f.read()


def names():
    """Every case name, sorted."""
    return sorted(n[:-len('.yaml')] for n in os.listdir(TEMPLATES)
                  if n.endswith('.yaml') and not n.endswith(ENV_SUFFIX))


def files():
    return {n: _read(os.path.join(FILES, n)) for n in os.listdir(FILES)}


def load(name, parameters=None):
    """The in-memory Stack of one case, with its environment and files."""
    env_path = os.path.join(TEMPLATES, name + ENV_SUFFIX)
    environments = [_read(env_path)] if os.path.exists(env_path) else []
    return template_graph.load_stack(
        _read(os.path.join(TEMPLATES, name + '.yaml')),
        environments=environments, parameters=parameters, files=files())


def heat_edges(stack):
    """(required, requirer) names from Heat's own dependency graph."""
    return {(req.name, rsrc.name)
            for rsrc, reqs in stack.dependencies.graph().items()
            for req in reqs}


def compiled_edges(stack, action='CREATE'):
    """(first, then) names from the TaskGraph the compiler builds."""
    graph = template_graph.task_graph(stack, action)
    return {(req.resource_name, node.resource_name)
            for node in graph for req in graph.requires(node.key)}


def kinds(stack):
    """{(source, target): kinds} from template_graph.edges."""
    return {(e.source, e.target): e.kinds
            for e in template_graph.edges(stack)}
