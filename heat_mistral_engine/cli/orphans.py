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

"""The work of ``heat-mistral-engine check-orphans`` (``cli.commands``).

Reads heat.conf (Heat's database, the message bus for Heat's notifications
and ``[mistral_scheduler]`` for Mistral), lists the orphans described in
``heat_mistral_engine.heat.recovery.orphans`` and, with ``--repair``,
cancels the orphaned executions and marks the orphaned stacks FAILED.
heat-engine runs the same check with repair every ``[mistral_scheduler]
orphan_check_interval`` seconds; this command is for operators who want to
see (or force) it now.

Exit status: 0 when nothing is (left) wrong, 1 when orphans remain.
"""

import sys

from heat.common import config as heat_config
from heat.common import messaging
from oslo_config import cfg

from heat_mistral_engine import config
from heat_mistral_engine.heat.clients import mistral_api
from heat_mistral_engine.heat.recovery import orphans
from heat_mistral_engine.heat.recovery import redrive

CLAIMANT = 'heat-mistral-engine check-orphans'
COLUMNS = ('kind', 'stack', 'execution', 'outcome', 'reason')


def run(args, out=sys.stdout):
    conf = _load_heat_conf(args)
    group = conf.mistral_scheduler
    grace = group.orphan_grace_period if args.grace is None else args.grace
    heat = orphans.HeatView()
    mistral = mistral_api.MistralService(conf)
    # A claimant of its own: an engine's check may drive the same
    # traversal again at the same time; only one of them wins the claim.
    redriver = redrive.Redriver(heat, mistral, CLAIMANT,
                                group.max_traversal_redrives, grace)
    checker = orphans.Checker(heat, mistral, grace, redriver=redriver)
    found = checker.check(repair=args.repair, stack_ids=args.stack)
    print_table(found, out)
    left = [o for o in found if not o.repaired]
    return 1 if left else 0


def print_table(found, out):
    rows = [COLUMNS]
    for o in found:
        outcome = ('driven again' if o.redriven else
                   'repaired' if o.repaired else
                   'FAILED: %s' % o.error if o.error else 'found')
        rows.append((o.kind, o.stack_id, o.execution_id or '-', outcome,
                     o.reason))
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    for row in rows:
        out.write('  '.join(str(v).ljust(w) for v, w in zip(row, widths))
                  + '  ' + str(row[4]) + '\n')
    out.write('%d orphan(s)\n' % len(found))


def _load_heat_conf(args):
    argv = []
    for path in args.config_file:
        argv += ['--config-file', path]
    for path in args.config_dir:
        argv += ['--config-dir', path]
    cfg.CONF(argv, project='heat', prog='heat-engine')
    config.register_opts(cfg.CONF)
    heat_config.set_config_defaults()
    # Marking a stack FAILED sends Heat's notifications.
    messaging.setup()
    return cfg.CONF
