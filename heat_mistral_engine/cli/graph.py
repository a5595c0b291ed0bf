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

"""The work of ``heat-mistral-engine graph`` (``cli.commands.Graph``).

Parses the template with Heat's own parser (no database, no services) and
prints what heat-engine would hand to Mistral for a new stack:

``json``
    ``{"tasks": [{"name", "type"}], "edges": [{"from", "to", "kinds"}]}``;
``dot``
    a Graphviz digraph, edges labelled with their kinds;
``yaml``
    the Mistral workflow definition that would be uploaded (resource ids are
    placeholders; live ones come from Heat's database).

``--action DELETE`` reverses every edge, as a delete does. ``--hooks FILE``
adds the operator hooks of a hooks file (``[mistral_scheduler]
operator_hooks_file``): ``json`` lists them under ``hooks``, ``dot`` draws
them as ellipses, ``yaml`` has their tasks.
"""

import json
import sys

from heat.common import exception as heat_exception
from heatclient.common import template_utils
from heatclient import exc as heatclient_exc

from heat_mistral_engine.graph import operator_hooks
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.traversal import template_graph


def run(args, out=sys.stdout, err=sys.stderr):
    """Print the graph; return the exit status (2 for a bad template)."""
    try:
        parameters = _parameters(args.parameter)
        # heatclient's own file handling, as `openstack stack create` does:
        # it reads only the files that get_file and the resource registry
        # name, and merges the environments.
        files, template = template_utils.process_template_path(
            args.template)
        env_files, env = (
            template_utils.process_multiple_environments_and_files(
                env_paths=args.environment, template=template))
        stack = template_graph.load_stack(
            json.dumps(template), environments=[json.dumps(env)],
            parameters=parameters, files=dict(files, **env_files))
        list(stack.dependencies)  # Heat's checks: references, cycles
        edges = template_graph.edges(stack)
    except (heat_exception.HeatException, ValueError, TypeError,
            OSError, heatclient_exc.CommandError) as exc:
        print('heat-mistral-engine graph: %s: %s' % (args.template, exc),
              file=err)
        return 2
    try:
        hooks = _hooks(getattr(args, 'hooks', None))
    except (operator_hooks.HooksFileError, OSError) as exc:
        print('heat-mistral-engine graph: %s' % exc, file=err)
        return 2
    graph = template_graph.task_graph(stack, args.action)
    action = 'create' if args.action == 'CREATE' else 'delete'
    hooked = hook_rows(graph, hooks, action)
    if args.action == 'DELETE':
        edges = [template_graph.Edge(e.target, e.source, e.kinds)
                 for e in edges]
    if args.format == 'json':
        found = as_json(stack, edges)
        if hooks:
            found['hooks'] = hooked
        json.dump(found, out, indent=2)
        out.write('\n')
    elif args.format == 'dot':
        out.write(as_dot(stack, edges, args.action, hooked))
    else:
        out.write(workflow.to_yaml(workflow.build(
            graph, workflow.workflow_name('STACK_ID'),
            description='Heat stack %s %s (offline preview)'
                        % (stack.name, args.action),
            hooks=hooks,
            plans={node.key: {'action': action} for node in graph})))
    return 0


def _hooks(path):
    if not path:
        return ()
    with open(path, encoding='utf-8') as stream:
        return operator_hooks.parse(stream.read(), source=path)


def hook_rows(graph, hooks, action):
    """The hooks a new stack's (or a delete's) nodes would run.

    [{"resource", "when", "hook", "workflow", "actions"}], in graph order.
    """
    rows = []
    for node in graph:
        for when in operator_hooks.WHEN:
            for hook in operator_hooks.matching(
                    hooks, node.resource_name, node.resource_type, when,
                    (action,)):
                rows.append({'resource': node.resource_name, 'when': when,
                             'hook': hook.name, 'workflow': hook.workflow,
                             'actions': sorted(hook.actions)})
    return rows


def as_json(stack, edges):
    return {
        'tasks': [{'name': name, 'type': stack.resources[name].type()}
                  for name in sorted(stack.resources)],
        'edges': [{'from': e.source, 'to': e.target, 'kinds': list(e.kinds)}
                  for e in edges],
    }


def as_dot(stack, edges, action, hooked=()):
    lines = ['digraph "%s" {' % action, '  rankdir=LR;',
             '  node [shape=box];']
    for row in hooked:
        hook_id = _dot_id('%s %s %s' % (row['resource'], row['when'],
                                        row['hook']))
        lines.append('  %s [shape=ellipse, label="%s\\n%s"];' % (
            hook_id, row['hook'], row['workflow']))
        first, then = _dot_id(row['resource']), hook_id
        if row['when'] == 'before':
            first, then = then, first
        lines.append('  %s -> %s [style=dashed];' % (first, then))
    for name in sorted(stack.resources):
        lines.append('  %s [label="%s\\n%s"];' % (
            _dot_id(name), name, stack.resources[name].type()))
    for e in edges:
        lines.append('  %s -> %s [label="%s"];' % (
            _dot_id(e.source), _dot_id(e.target), ','.join(e.kinds)))
    lines.append('}')
    return '\n'.join(lines) + '\n'


def _dot_id(name):
    return '"%s"' % name.replace('"', '\\"')


def _parameters(pairs):
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition('=')
        if not sep or not key:
            raise ValueError('parameter %r is not KEY=VALUE' % pair)
        result[key] = value
    return result
