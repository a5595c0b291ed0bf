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


"""Benchmark: compile big templates into Mistral workflows (offline part).

For each size, builds a layered template (LAYERS layers, each resource
reading get_attr of two resources of the layer before), then times Heat's
parse + dependency graph, edge labelling, TaskGraph construction, workflow
build and YAML dump. With --mistral-url, also uploads each workflow to
Mistral the way heat-engine does (create, then delete) to check that Mistral
accepts it and to time that; --validate lets Mistral check the syntax.
Reports; asserts nothing.

    python tools/bench/compile_graph.py [--sizes 1000,2000,5000]
        [--mistral-url http://127.0.0.1:8989/v2 [--validate]] [--json F]
"""

import argparse
import json
import logging
import time

# Registers Heat's options (max_template_size...), which main() lifts.
from heat.common import config as heat_config  # noqa: F401
from oslo_config import cfg

from heat_mistral_engine import config
from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.clients import mistral_api as mistral_client
from heat_mistral_engine.heat.traversal import template_graph

LAYERS = 10


def layered_template(size, layers=LAYERS):
    width = max(1, size // layers)
    resources = {}
    for layer in range(layers):
        for i in range(width):
            name = 'r%02d_%04d' % (layer, i)
            if layer == 0:
                value = name
            else:
                prev = ['r%02d_%04d' % (layer - 1, (i + k) % width)
                        for k in (0, 1)]
                value = {'list_join': ['+', [{'get_attr': [p, 'value']}
                                             for p in prev]]}
            resources[name] = {'type': 'OS::Heat::Value',
                               'properties': {'value': value}}
    return {'heat_template_version': '2021-04-16', 'resources': resources}


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


def measure(size, mistral=None):
    text = json.dumps(layered_template(size))
    stack, t_parse = timed(template_graph.load_stack, text)
    _, t_deps = timed(lambda: list(stack.dependencies))
    edges, t_edges = timed(template_graph.edges, stack)
    graph, t_graph = timed(template_graph.task_graph, stack)
    name = 'hme_bench_%d' % size
    definition, t_build = timed(workflow.build, graph, name)
    text_wf, t_yaml = timed(workflow.to_yaml, definition)
    row = {'resources': len(graph), 'edges': len(edges),
           'heat_parse_s': t_parse, 'heat_dependencies_s': t_deps,
           'label_edges_s': t_edges, 'task_graph_s': t_graph,
           'workflow_build_s': t_build, 'yaml_s': t_yaml,
           'compile_total_s': t_graph + t_build + t_yaml,
           'definition_kib': len(text_wf) / 1024.0}
    if mistral is not None:
        # The plugin's own upload (skip_workflow_validation as configured).
        workflow_id, t_upload = timed(mistral.create_workflow, name,
                                      text_wf, 'bench')
        row['mistral_create_s'] = t_upload
        mistral._client.workflows.delete(workflow_id)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', default='1000,2000,5000')
    parser.add_argument('--mistral-url')
    parser.add_argument('--validate', action='store_true',
                        help='let Mistral check the syntax (slow)')
    parser.add_argument('--json')
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    # Heat's default limits (512 KiB templates, 1000 resources) would
    # refuse the bigger sizes; lift them for this process only.
    cfg.CONF.set_override('max_template_size', 1 << 30)
    cfg.CONF.set_override('max_resources_per_stack', -1)
    mistral = None
    if args.mistral_url:
        config.register_opts(cfg.CONF)
        cfg.CONF.set_override('endpoint_override', args.mistral_url,
                              group=config.GROUP)
        cfg.CONF.set_override('skip_workflow_validation',
                              not args.validate, group=config.GROUP)
        cfg.CONF.set_override('auth_encryption_key', 'b' * 32)
        mistral = mistral_client.MistralService()
    rows = [measure(int(s), mistral) for s in args.sizes.split(',')]
    keys = ['resources', 'edges', 'heat_parse_s', 'heat_dependencies_s',
            'label_edges_s', 'compile_total_s', 'definition_kib',
            'mistral_create_s']
    print(' '.join('%18s' % k for k in keys))
    for row in rows:
        print(' '.join('%18s' % (('%.3f' % row[k]) if isinstance(
            row.get(k), float) else row.get(k, '-')) for k in keys))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=2)


if __name__ == '__main__':
    main()
