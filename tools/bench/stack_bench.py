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


"""Benchmark: stack create/delete with the plugin enabled and with native Heat.

Runs on the local cloud (tools/devcloud). For each shape (tools/bench/
shapes.py) and each mode, alternating, it switches heat-engine between
``[mistral_scheduler] enabled = true`` (plugin) and ``false`` (native) with
a heat.conf.d file and ``tools/devcloud restart``, then creates and deletes
the stack through Heat's API and measures:

* wall time of create and delete (request sent until Heat reports the final
  state; polled every 0.25 s, ``--poll``) and per resource;
* CPU seconds of heat-engine and of Mistral (all their processes, from
  /proc) during each phase, and per resource;
* in plugin mode, bytes Mistral published per task for the create
  (JSON of each task's ``published``), and the number of tasks;
* in plugin mode, the bytes of task context Mistral stored for the create
  (``in_context`` of its task executions, read with SQL from the cloud's
  Mistral database) against the bytes those tasks published, and the
  bytes of their action executions' input.

A phase that does not finish within its timeout is reported as such with
the number of resources done by then; the stack is then deleted by the
plugin (native Heat dispatches one leaf per second, so its delete of a
500-leaf stack alone takes over 8 minutes). Reports; asserts nothing.

    python tools/bench/stack_bench.py [--shapes chain100,indep500]
        [--modes plugin,native] [--native-timeout 300] [--poll 0.25]
        [--json F]
"""

import argparse
import json
import os
import configparser
import subprocess
import sys
import time
import urllib.parse

from heatclient import client as heat_client
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from mistralclient.api import client as mistral_client
import pymysql

from heat_mistral_engine.graph import workflow
from heat_mistral_engine.heat.api import rows as view_rows

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shapes  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEVCLOUD_DIR = os.environ.get('DEVCLOUD_DIR', os.path.join(REPO, '.devcloud'))
NATIVE_CONF = os.path.join(DEVCLOUD_DIR, 'etc', 'heat.conf.d',
                           '90-bench-native.conf')
# Heat's default max_resources_per_stack (1000) counts the stack as well.
LIMITS_CONF = os.path.join(DEVCLOUD_DIR, 'etc', 'heat.conf.d',
                           '90-bench-limits.conf')
POLL = 0.25
TERMINAL = ('COMPLETE', 'FAILED')
COMPONENTS = {'heat_engine': 'heat-engine-1', 'heat_api': 'heat-api',
              'mistral': 'mistral'}


def log(msg):
    print(time.strftime('%H:%M:%S'), msg, file=sys.stderr, flush=True)


# -- the local cloud ----------------------------------------------------------
def devcloud(*args):
    subprocess.run([os.path.join(REPO, 'tools', 'devcloud')] + list(args),
                   check=True, stdout=subprocess.DEVNULL)


def set_mode(mode, current):
    """Restart heat-engine into ``mode`` unless it is already there."""
    if mode == current:
        return mode
    with open(LIMITS_CONF, 'w') as f:
        f.write('[DEFAULT]\nmax_resources_per_stack = -1\n')
    if mode == 'native':
        with open(NATIVE_CONF, 'w') as f:
            f.write('# Written by tools/bench/stack_bench.py\n'
                    '[mistral_scheduler]\nenabled = false\n')
    elif os.path.exists(NATIVE_CONF):
        os.remove(NATIVE_CONF)
    log('restarting the local cloud in %s mode' % mode)
    devcloud('restart')
    return mode


def restore_config():
    for path in (NATIVE_CONF, LIMITS_CONF):
        if os.path.exists(path):
            os.remove(path)


def _pgid(component):
    with open(os.path.join(DEVCLOUD_DIR, 'pids', component + '.pid')) as f:
        return int(f.read().split()[0])


def cpu_seconds():
    """CPU seconds (user+system) used so far by each component's processes."""
    groups = {key: _pgid(name) for key, name in COMPONENTS.items()}
    ticks = os.sysconf('SC_CLK_TCK')
    used = dict.fromkeys(groups, 0.0)
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        pgrp = int(fields[2])
        for key, group in groups.items():
            if pgrp == group:
                used[key] += (int(fields[11]) + int(fields[12])) / ticks
    return used


# -- clients ------------------------------------------------------------------
def clients():
    """Heat and Mistral clients of the local cloud.

    HEAT_URL and MISTRAL_URL if set; otherwise the ports of
    DEVCLOUD_HEAT_PORT and DEVCLOUD_MISTRAL_PORT (tools/devcloud's
    defaults, 8004 and 8989, if unset).
    """
    heat_url = os.environ.get('HEAT_URL', 'http://127.0.0.1:%s/v1/admin' % (
        os.environ.get('DEVCLOUD_HEAT_PORT') or '8004'))
    session = ks_session.Session(auth=noauth.NoAuth(endpoint=heat_url))
    heat = heat_client.Client('1', session=session,
                              service_type='orchestration',
                              endpoint_override=heat_url)
    mistral = mistral_client.client(mistral_url=os.environ.get(
        'MISTRAL_URL', 'http://127.0.0.1:%s/v2' % (
            os.environ.get('DEVCLOUD_MISTRAL_PORT') or '8989')))
    return heat, mistral


def wait(heat, stack_id, action, timeout, deleting=False):
    """Poll until the stack's ``action`` ends; return (status, reason)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # resolve_outputs=False: with outputs, Heat loads every
            # resource's node data, seconds of engine CPU for big stacks.
            stack = heat.stacks.get(stack_id, resolve_outputs=False)
        except Exception as exc:  # gone: deleted
            if deleting and 'not found' in str(exc).lower():
                return 'DELETE_COMPLETE', ''
            raise
        status = stack.stack_status
        if status.startswith(action) and status.endswith(TERMINAL):
            return status, stack.stack_status_reason
        time.sleep(POLL)
    return 'TIMEOUT', 'not finished in %d s' % timeout


def resources_done(heat, stack_id, state):
    try:
        return sum(1 for r in heat.resources.list(stack_id)
                   if r.resource_status == state)
    except Exception:
        return None


def published_bytes(mistral, stack_id):
    """Bytes of ``published`` per task of the stack's CREATE execution."""
    execution = view_rows.choose_execution(mistral.executions.list(
        workflow_name=workflow.workflow_name(stack_id), limit=-1), 'CREATE')
    if execution is None:
        return {}
    tasks = mistral.tasks.list(workflow_execution_id=execution.id,
                               fields=['name', 'published'], limit=-1)
    sizes = sorted(len(json.dumps(json.loads(t.published or '{}')))
                   for t in tasks)
    if not sizes:
        return {}
    return {'tasks': len(sizes), 'published_bytes_mean':
            sum(sizes) / len(sizes), 'published_bytes_max': sizes[-1]}


def mistral_db():
    """A connection to the local cloud's Mistral database."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(os.path.join(DEVCLOUD_DIR, 'etc', 'mistral.conf'))
    url = urllib.parse.urlsplit(parser['database']['connection'])
    return pymysql.connect(host=url.hostname, port=url.port or 3306,
                           user=url.username or 'root',
                           password=url.password or '',
                           database=url.path.lstrip('/'), charset='utf8mb4')


def stored_context(mistral, stack_id):
    """Bytes Mistral stores for the tasks of the stack's CREATE execution.

    ``context_bytes``: their ``in_context``; ``stored_published_bytes``:
    their ``published``; ``context_ratio``: the first over the second (the
    goal of issue 25 is at most 2); ``action_input_bytes``: the input of
    their action executions (each holds its predecessors' receipts).
    Lengths of the stored JSON texts.
    """
    execution = view_rows.choose_execution(mistral.executions.list(
        workflow_name=workflow.workflow_name(stack_id), limit=-1), 'CREATE')
    if execution is None:
        return {}
    db = mistral_db()
    try:
        with db.cursor() as cur:
            cur.execute('SELECT COALESCE(SUM(LENGTH(in_context)), 0), '
                        'COALESCE(SUM(LENGTH(published)), 0) FROM '
                        'task_executions_v2 WHERE '
                        'workflow_execution_id = %s',
                        (execution.id,))
            context, published = cur.fetchone()
            cur.execute('SELECT COALESCE(SUM(LENGTH(a.input)), 0) FROM '
                        'action_executions_v2 a JOIN task_executions_v2 t ON '
                        'a.task_execution_id = t.id WHERE '
                        't.workflow_execution_id = %s', (execution.id,))
            (action_input,) = cur.fetchone()
    finally:
        db.close()
    return {'context_bytes': int(context),
            'stored_published_bytes': int(published),
            'context_ratio': (int(context) / int(published)
                              if published else None),
            'action_input_bytes': int(action_input)}


# -- one run ------------------------------------------------------------------
def run(heat, mistral, shape, mode, timeout):
    template = shapes.SHAPES[shape]()
    n = len(template['resources'])
    name = 'bench-%s-%s-%d' % (shape, mode, int(time.time()))
    row = {'shape': shape, 'mode': mode, 'resources': n}

    cpu0, t0 = cpu_seconds(), time.monotonic()
    stack_id = heat.stacks.create(stack_name=name, template=template,
                                  disable_rollback=True)['stack']['id']
    status, reason = wait(heat, stack_id, 'CREATE', timeout)
    row.update(_phase('create', t0, cpu0, n, status, reason))
    if status == 'TIMEOUT':
        row['create_resources_done'] = resources_done(
            heat, stack_id, 'CREATE_COMPLETE')
    elif mode == 'plugin':
        row.update(published_bytes(mistral, stack_id))
        row.update(stored_context(mistral, stack_id))
    log('%s %s create: %s in %.1f s' % (shape, mode, status, row['create_s']))
    if status == 'TIMEOUT':
        return row, stack_id   # deleted later, by the plugin
    cpu0, t0 = cpu_seconds(), time.monotonic()
    heat.stacks.delete(stack_id)
    status, reason = wait(heat, stack_id, 'DELETE', timeout, deleting=True)
    row.update(_phase('delete', t0, cpu0, n, status, reason))
    log('%s %s delete: %s in %.1f s' % (shape, mode, status, row['delete_s']))
    return row, (stack_id if status == 'TIMEOUT' else None)


def _phase(phase, t0, cpu0, n, status, reason):
    wall = time.monotonic() - t0
    cpu1 = cpu_seconds()
    cpu = {key: cpu1[key] - cpu0[key] for key in cpu1}
    return {
        phase + '_status': status,
        phase + '_reason': reason if not status.endswith('COMPLETE') else '',
        phase + '_s': wall,
        phase + '_ms_per_resource': 1000 * wall / n,
        phase + '_cpu_heat_engine_s': cpu['heat_engine'],
        phase + '_cpu_mistral_s': cpu['mistral'],
        phase + '_cpu_heat_api_s': cpu['heat_api'],
        phase + '_cpu_ms_per_resource': 1000 * (
            cpu['heat_engine'] + cpu['mistral']) / n,
    }


def delete_leftovers(heat, stack_ids, timeout):
    for stack_id in stack_ids:
        log('deleting left-over stack %s with the plugin' % stack_id)
        try:
            heat.stacks.delete(stack_id)
            wait(heat, stack_id, 'DELETE', timeout, deleting=True)
        except Exception as exc:
            log('could not delete %s: %s' % (stack_id, exc))


# -- report -------------------------------------------------------------------
COLUMNS = (('shape', '%-12s'), ('mode', '%-7s'), ('resources', '%5d'),
           ('create_s', '%8.1f'), ('delete_s', '%8.1f'),
           ('create_ms_per_resource', '%7.0f'),
           ('create_cpu_heat_engine_s', '%7.1f'),
           ('create_cpu_mistral_s', '%7.1f'),
           ('create_cpu_ms_per_resource', '%7.0f'),
           ('published_bytes_mean', '%7.0f'), ('published_bytes_max', '%7d'),
           ('context_bytes', '%8d'), ('context_ratio', '%7.2f'))
HEADERS = ('shape', 'mode', 'n', 'create', 'delete', 'ms/res', 'engCPU',
           'misCPU', 'cpu/res', 'pubB', 'pubMax', 'ctxB', 'ctx/pub')


def table(rows):
    lines = [' '.join('%8s' % h for h in HEADERS)]
    for row in rows:
        cells = []
        for key, fmt in COLUMNS:
            value = row.get(key)
            if value is None:
                cells.append('%8s' % '-')
            else:
                cell = fmt % value
                if key.endswith('_s') and row.get(
                        key[:-2] + '_status') == 'TIMEOUT':
                    cell = '>' + cell.strip()
                cells.append('%8s' % cell.strip())
        lines.append(' '.join(cells))
    lines.append('')
    lines.append('ratio native/plugin (create, delete; ">" = native '
                 'timed out, so at least):')
    by = {(r['shape'], r['mode']): r for r in rows}
    for shape in dict.fromkeys(r['shape'] for r in rows):
        native, plugin = by.get((shape, 'native')), by.get((shape, 'plugin'))
        if not (native and plugin):
            continue
        parts = []
        for phase in ('create', 'delete'):
            if native.get(phase + '_s') and plugin.get(phase + '_s'):
                mark = '>' if native[phase + '_status'] == 'TIMEOUT' else ''
                parts.append('%s %s%.2f' % (phase, mark, native[phase + '_s']
                                            / plugin[phase + '_s']))
        lines.append('  %-12s %s' % (shape, ', '.join(parts)))
    return '\n'.join(lines)


def main():
    global POLL
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--shapes', default=','.join(shapes.DEFAULT_SHAPES))
    parser.add_argument('--modes', default='plugin,native')
    parser.add_argument('--timeout', type=float, default=900,
                        help='seconds per plugin phase')
    parser.add_argument('--native-timeout', type=float, default=300,
                        help='seconds per native phase')
    parser.add_argument('--no-restart', action='store_true',
                        help='use the running cloud as it is (one mode '
                             'only; e.g. while profiling its processes)')
    parser.add_argument('--poll', type=float, default=POLL,
                        help='seconds between two polls of the stack; '
                             'each poll costs heat-api and heat-engine '
                             'CPU, so CPU figures of a slow (loaded) run '
                             'include more polling at the default')
    parser.add_argument('--json')
    args = parser.parse_args()
    POLL = args.poll
    heat, mistral = clients()
    rows, leftovers, mode = [], [], None
    modes = args.modes.split(',')
    if args.no_restart:
        if len(modes) != 1:
            parser.error('--no-restart needs exactly one mode')
        mode = modes[0]
    try:
        for i, shape in enumerate(args.shapes.split(',')):
            # Alternate which mode goes first, so neither always runs on a
            # freshly restarted cloud.
            order = modes if i % 2 == 0 else list(reversed(modes))
            if mode in order:
                order = [mode] + [m for m in order if m != mode]
            for run_mode in order:
                mode = set_mode(run_mode, mode)
                timeout = (args.native_timeout if run_mode == 'native'
                           else args.timeout)
                row, leftover = run(heat, mistral, shape, run_mode, timeout)
                rows.append(row)
                if leftover:
                    leftovers.append(leftover)
                    mode = set_mode('plugin', mode)
                    delete_leftovers(heat, leftovers, args.timeout)
                    leftovers = []
    finally:
        if not args.no_restart:
            restore_config()
        if mode != 'plugin' and not args.no_restart:
            log('restarting the local cloud in its normal mode')
            devcloud('restart')
    print(table(rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=2)
        print('JSON: %s' % args.json)


if __name__ == '__main__':
    main()
