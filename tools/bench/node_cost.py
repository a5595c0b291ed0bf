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


"""Benchmark: CPU heat-engine spends on one resource node, offline.

Runs the plugin's real node path (``NodeRunner.execute``: Heat's
``check_resource.load_resource``, ``check_resource_update``, the node data
for dependents) in this process, against Heat's database models on an
in-memory SQLite database: no heat-engine, Mistral, RabbitMQ or MariaDB.
It measures what a node costs heat-engine in CPU, not wall time on a cloud.

For each shape of ``tools/bench/shapes.py``, the stack is stored and its
traversal prepared as the plugin does (``hooks.prepare_traversal``), then
``--nodes`` create nodes run one after the other, depth first from a root
of the traversal so that most of them read ``get_attr`` data from
predecessors that ran before, as Mistral would hand it over. Reports the
median and mean CPU per node; asserts nothing.

    python tools/bench/node_cost.py [--shapes layered1000,indep500]
        [--nodes 40] [--lean on|off|both] [--no-gc-freeze] [--profile N]
        [--json F]

``--lean both`` (the default) stores each shape twice and runs the same
node of each in turn, one with ``[mistral_scheduler] lean_node_definitions``
and ``share_decoded_stacks`` on and one with both off, so that load from
other processes on the machine weighs on both modes alike. Nodes run one at
a time here, so the garbage collector's share of shared decoding (many
nodes in flight, each with its own copy) does not show.
"""

import argparse
import cProfile
import gc
import json
import os
import pstats
import statistics
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import shapes  # noqa: E402

DEFAULT_SHAPES = ('layered1000', 'indep500', 'chain100')


class _ThreadGroups:
    """What a node needs of Heat's thread group manager."""

    def add_msg_queue(self, stack_id, msg_queue):
        pass

    def remove_msg_queue(self, gt, stack_id, msg_queue):
        pass


class _NoMistral:
    """Stands in for ``mistral_api.MistralService`` offline.

    The bench's stacks have no operator hooks, so a node never asks
    Mistral anything; if one did, the bench would measure a call that
    cannot happen here, so any use fails loudly.
    """

    def __getattr__(self, name):
        raise RuntimeError('node_cost runs without Mistral, but a node '
                           'used MistralService.%s' % name)


def _setup(lean):
    import logging
    logging.basicConfig(level=logging.ERROR)
    from heat.common import config as heat_config  # noqa: F401
    from heat.common import messaging
    from heat.db import api as db_api
    from heat.engine.clients.os.keystone import heat_keystoneclient  # noqa
    from heat.db import models
    from heat.engine import resources
    from oslo_config import cfg
    from oslo_db import options as db_options

    from heat_mistral_engine import config

    cfg.CONF([], project='heat', default_config_files=[],
             default_config_dirs=[])
    config.register_opts(cfg.CONF)
    cfg.CONF.set_override('auth_encryption_key', 'k' * 32)
    # No Keystone: Heat's fake client, as the local cloud uses.
    cfg.CONF.set_override(
        'keystone_backend',
        'heat.engine.clients.os.keystone.fake_keystoneclient.'
        'FakeKeystoneClient')
    cfg.CONF.set_override('lean_node_definitions', lean,
                          group=config.GROUP)
    db_options.set_defaults(cfg.CONF, connection='sqlite://')
    models.BASE.metadata.create_all(db_api.get_engine())
    # In-process transport; notifications go nowhere (no driver set).
    messaging.setup('fake://')
    resources.initialise()
    from heat_mistral_engine.heat.patches import lean_defn
    from heat_mistral_engine.heat.patches import shared_stack_json
    lean_defn.install(cfg.CONF)
    shared_stack_json.install(cfg.CONF)


def _store(shape):
    """A stored stack of ``shape`` with its create traversal prepared."""
    from heat.common import context
    from heat.engine import stack as heat_stack
    from heat.engine import template

    from heat_mistral_engine.heat.patches import convergence as hooks
    from heat_mistral_engine.heat.node import runner as node_runner

    cnxt = context.RequestContext(user_id='bench', project_id='bench',
                                  is_admin=True)
    tmpl = template.Template(shapes.SHAPES[shape]())
    stack = heat_stack.Stack(cnxt, '%s-%s' % (shape, uuid.uuid4().hex[:8]),
                             tmpl, convergence=True)
    stack.store()
    stack.thread_group_mgr = node_runner.INLINE_EVENTS
    # converge_stack does Heat's own bookkeeping (traversal id, state,
    # templates) and then calls the traversal starter: the plugin's
    # preamble stands in for it, without starting any execution.
    stack._converge_create_or_update = (
        lambda *args, **kwargs: hooks.prepare_traversal(stack))
    stack.converge_stack(template=tmpl, action=stack.CREATE)
    return cnxt, stack


def _depth_first(stack, count):
    """``count`` create nodes, each after the nodes it requires."""
    graph = stack.convergence_dependencies.graph()
    order, seen = [], set()

    def visit(key):
        if key in seen or len(order) >= count:
            return
        seen.add(key)
        for req in sorted(graph[key], key=lambda k: k.rsrc_id):
            visit(req)
        if len(order) < count:
            order.append(key)

    for root in sorted(stack.convergence_dependencies.roots(),
                       key=lambda k: k.rsrc_id):
        visit(root)
    return [key for key in order if key.is_update], graph


class _Nodes:
    """The create nodes of one stored stack, run one at a time."""

    def __init__(self, shape, count):
        from heat_mistral_engine.heat.node import runner as node_runner
        from heat_mistral_engine.heat.traversal import traversal_token

        cnxt, self.stack = _store(shape)
        self.keys, self.graph = _depth_first(self.stack, count)
        self.runner = node_runner.NodeRunner('bench-engine', _ThreadGroups(),
                                             mistral=_NoMistral())
        self.token = traversal_token.seal(cnxt, self.stack.id,
                                          self.stack.current_traversal)
        self.outputs = {}
        self.cpu = []

    def run(self, key, profiler=None):
        from heat_mistral_engine import protocol

        stack = self.stack
        # As Mistral hands them over: every predecessor's sealed receipt.
        data = {protocol.data_key(req.rsrc_id, req.is_update):
                self.outputs[req.rsrc_id]['node']
                for req in self.graph[key] if req.rsrc_id in self.outputs}
        request = protocol.NodeRequest(
            action_execution_id=str(uuid.uuid4()), stack_id=stack.id,
            traversal=stack.current_traversal, resource_id=key.rsrc_id,
            is_update=True, data=data, token=self.token)
        if profiler:
            profiler.enable()
        start = time.process_time()
        outcome = self.runner.execute(request)
        self.cpu.append(time.process_time() - start)
        if profiler:
            profiler.disable()
        if outcome.error:
            raise RuntimeError('node %s failed: %s'
                               % (key.rsrc_id, outcome.error))
        self.outputs[key.rsrc_id] = outcome.output

    def row(self, shape, lean):
        return {'shape': shape, 'lean': lean,
                'resources': len(self.stack.t[self.stack.t.RESOURCES]),
                'nodes': len(self.cpu),
                'median_ms': statistics.median(self.cpu) * 1000,
                'mean_ms': statistics.mean(self.cpu) * 1000}


def _lean(on):
    from oslo_config import cfg

    from heat_mistral_engine.heat.patches import lean_defn
    from heat_mistral_engine.heat.patches import shared_stack_json

    if on:
        lean_defn.install(cfg.CONF)
        shared_stack_json.install(cfg.CONF)
    else:
        lean_defn.uninstall()
        shared_stack_json.uninstall()


def _comparable(output, stack):
    """The node data sealed in a node's output, without stack ids."""
    from heat_mistral_engine.heat.node import seal as node_seal

    payload = json.loads(node_seal.crypt.decrypt(
        node_seal._METHOD, output['node']))
    data = payload['d']
    return json.dumps({key: data[key] for key in
                       ('name', 'attrs', 'action', 'status')}, sort_keys=True)


def run_shape(shape, count, modes, profile=0):
    """Rows for ``modes`` (booleans: lean on or off) of one shape.

    With both modes, each mode has a stack of its own and their nodes run
    alternately (the same node of each stack in turn, in both orders), so
    that load from other processes weighs on both alike, and each node's
    data for its dependents is checked to be the same in both.
    """
    runs = {lean: _Nodes(shape, count) for lean in modes}
    profiler = cProfile.Profile() if profile else None
    first = next(iter(runs.values()))
    for i, key in enumerate(first.keys):
        order = list(runs.items()) if i % 2 == 0 else list(runs.items())[::-1]
        for lean, nodes in order:
            _lean(lean)
            nodes.run(nodes.keys[i], profiler)
        # Both modes must hand the same node data to dependents.
        seen = {_comparable(nodes.outputs[nodes.keys[i].rsrc_id],
                            nodes.stack)
                for nodes in runs.values()}
        if len(seen) != 1:
            raise RuntimeError('node %d of %s: node data differ between '
                               'modes: %s' % (i, shape, seen))
    if profiler:
        pstats.Stats(profiler).sort_stats('cumulative').print_stats(profile)
    return [nodes.row(shape, lean) for lean, nodes in runs.items()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--shapes', default=','.join(DEFAULT_SHAPES))
    parser.add_argument('--nodes', type=int, default=40)
    parser.add_argument('--lean', choices=('on', 'off', 'both'),
                        default='both')
    parser.add_argument('--no-gc-freeze', dest='gc_freeze',
                        action='store_false')
    parser.add_argument('--profile', type=int, default=0, metavar='N',
                        help='print the N costliest calls')
    parser.add_argument('--json', help='also write the rows to this file')
    args = parser.parse_args()
    modes = {'on': (True,), 'off': (False,), 'both': (False, True)}[args.lean]

    _setup(True)
    if args.gc_freeze:
        # As engine workers do after start-up (hooks.freeze_startup_objects).
        gc.collect()
        gc.freeze()
    rows = []
    for shape in args.shapes.split(','):
        rows.extend(run_shape(shape, args.nodes, modes, args.profile))
    print('%-12s %9s %6s %5s %10s %8s' % (
        'shape', 'resources', 'lean', 'nodes', 'median ms', 'mean ms'))
    for row in rows:
        row['gc_freeze'] = args.gc_freeze
        print('%-12s %9d %6s %5d %10.1f %8.1f' % (
            row['shape'], row['resources'], 'on' if row['lean'] else 'off',
            row['nodes'], row['median_ms'], row['mean_ms']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=2)


if __name__ == '__main__':
    main()
