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

"""Random templates and step sequences for the generative differential test.

``plan(seed)`` draws, from ``random.Random(seed)`` alone, a *plan*: groups
of operations, each group one user-level step (a create, an update, a
cancel in the middle of an update, ...), the first a create and the last a
delete. Operations that create or update a stack carry a *model* of the
template: plain data, ``{'params': {...}, 'next': int, 'resources': {name:
{...}}}``, so that the shrinker can drop resources from every step at once
(``without_resources``). ``literal(plan)`` renders the templates and steps
as a Python literal (what a failure prints) and ``scenario_from_literal``
turns one into a ``dsl.Scenario``, writing its templates to a directory.

Determinism. Native Heat casts a template's leaves one second apart, so a
step whose outcome depends on *when* a resource acts would flap. Every
step that stops a traversal in the middle (a failing resource, a slow one
cancelled, superseded or deleted under) therefore has one *pivot*, and the
generator adds ``depends_on`` edges to the pivot until every resource the
traversal acts on is an ancestor of the pivot (done before it starts) or a
descendant (not started when it stops): see ``funnel``. Those steps change
resources in place only (a replacement's or a removal's cleanup node
would race the pivot). A step after a failure recovers the stack with a
plain update before anything timing-dependent runs again.
"""

import copy
import os
import random
import tempfile

import yaml

from tests.parity import dsl
from tests.parity import scenarios

SLOW_SECS = scenarios.SLOW_SECS
# Longer than the minute of `--timeout 1`, so that a delete of it fails.
DELETE_WAIT_SECS = 75
MEMBER = 'member.yaml'
MIN_RESOURCES, MAX_RESOURCES = 5, 40
MIN_STEPS, MAX_STEPS = 3, 8

TYPES = {'test': 'OS::Heat::TestResource', 'value': 'OS::Heat::Value',
         'random': 'OS::Heat::RandomString', 'none': 'OS::Heat::None',
         'provider': MEMBER, 'group': 'OS::Heat::ResourceGroup'}
# The attribute get_attr reads; None's attributes are all None.
ATTRIBUTE = {'test': 'output', 'value': 'value', 'random': 'value',
             'provider': 'result', 'group': 'output'}
# Kinds a value change updates in place (None never updates, a
# RandomString's salt replaces it).
IN_PLACE = ('test', 'value', 'provider', 'group')
# Kinds that own a nested stack.
NESTED = ('provider', 'group')

MEMBER_TEMPLATE = {
    'heat_template_version': '2021-04-16',
    'description': 'difftest: provider template',
    'parameters': {'value': {'type': 'string'}},
    'resources': {
        'inner': {'type': 'OS::Heat::TestResource',
                  'properties': {'value': {'get_param': 'value'}}},
        'after': {'type': 'OS::Heat::Value', 'properties': {
            'value': {'list_join': ['+', [
                {'get_attr': ['inner', 'output']}, 'after']]}}}},
    'outputs': {'result': {'value': {'get_attr': ['after', 'value']}}},
}

HEAT_DELETE_AFTER_REPLACE = scenarios.HEAT_DELETE_AFTER_REPLACE


# ------------------------------------------------------------------ models
def random_model(rng, count):
    """A model of ``count`` resources; each refers only to earlier ones."""
    model = {'params': {'p': 'p0', 'enable': True}, 'next': 0,
             'resources': {}}
    nested = rng.random() < 0.3
    for index in range(count):
        kind = rng.choices(['test', 'value', 'random', 'none'],
                           [45, 20, 10, 15])[0]
        if nested and index == count // 2:
            kind = rng.choice(['provider', 'group'])
        add_resource(rng, model, kind)
    names = list(model['resources'])
    referenced = {t for r in model['resources'].values()
                  for _how, t in r['deps']}
    for name in names:
        res = model['resources'][name]
        if res['kind'] != 'none' and rng.random() < 0.3:
            res['output'] = True
    # Conditional resources: sinks, in no output, switched by `enable`.
    for name in names:
        res = model['resources'][name]
        if (name not in referenced and not res.get('output')
                and rng.random() < 0.15):
            res['cond'] = True
    return model


def add_resource(rng, model, kind):
    """Add a resource of ``kind`` referring to up to 3 earlier ones."""
    name = 'r%02d' % model['next']
    model['next'] += 1
    candidates = [n for n, r in model['resources'].items()
                  if not r.get('cond')]
    deps = []
    # Mostly recent resources: deeper graphs than a uniform choice.
    for target in sorted(set(rng.choices(candidates[-8:], k=min(
            len(candidates), rng.randint(0, 3))))):
        tkind = model['resources'][target]['kind']
        hows = ['get_attr', 'depends_on', 'get_resource']
        if tkind == 'none':
            hows.remove('get_attr')
        deps.append([rng.choice(hows), target])
    res = {'kind': kind, 'deps': deps, 'value': 'v0',
           'param': rng.random() < 0.2}
    if kind == 'test' and rng.random() < 0.5:
        res['replace'] = 'x0'
    if kind == 'random':
        res['length'] = rng.randint(4, 16)
    if kind == 'group':
        res['count'] = rng.randint(1, 3)
    model['resources'][name] = res
    return name


def present(model):
    """Names of the resources the stack has (conditions applied)."""
    on = model['params']['enable']
    return [n for n, r in model['resources'].items()
            if on or not r.get('cond')]


def dependents(model):
    """{name: set of names that refer to it}."""
    found = {n: set() for n in model['resources']}
    for name, res in model['resources'].items():
        for _how, target in res['deps']:
            found[target].add(name)
    return found


def closure(start, edges):
    seen, todo = set(), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def ancestors(model, name):
    requires = {n: {t for _h, t in r['deps']}
                for n, r in model['resources'].items()}
    return closure([name], requires)


def descendants(model, name):
    return closure([name], dependents(model))


def tainted(model):
    """Resources whose value differs between clouds by design.

    RandomStrings, and what reads a physical id (get_resource) or a
    tainted value.
    """
    found = set()
    for name, res in model['resources'].items():
        if res['kind'] == 'random' or any(
                how == 'get_resource' or (how == 'get_attr' and t in found)
                for how, t in res['deps']):
            found.add(name)
    return found


# --------------------------------------------------------------- rendering
def attr_ref(model, target):
    ref = {'get_attr': [target, ATTRIBUTE[model['resources'][target]
                                          ['kind']]]}
    if model['resources'][target]['kind'] == 'group':
        ref = {'list_join': [',', ref]}
    return ref


def value_expr(model, name):
    res = model['resources'][name]
    parts = [res['value']]
    for how, target in res['deps']:
        if how == 'get_attr':
            parts.append(attr_ref(model, target))
        elif how == 'get_resource':
            parts.append({'get_resource': target})
    if res['param']:
        parts.append({'get_param': 'p'})
    return parts[0] if len(parts) == 1 else {'list_join': ['-', parts]}


def render_resource(model, name):
    res = model['resources'][name]
    kind = res['kind']
    value = value_expr(model, name)
    if kind == 'random':
        props = {'length': res['length'], 'salt': value}
    elif kind == 'group':
        member = {'list_join': ['-', [value, '%index%']]}
        props = {'count': res['count'], 'resource_def': {
            'type': TYPES['test'], 'properties': {'value': member}}}
    else:
        props = {'value': value}
    if kind == 'test':
        if res.get('replace'):
            props['update_replace_value'] = res['replace']
        if res.get('update_replace'):
            props['update_replace'] = True
        if res.get('fail'):
            props['fail'] = True
        if res.get('wait'):
            props['action_wait_secs'] = dict(res['wait'])
    body = {'type': TYPES[kind], 'properties': props}
    after = sorted(t for how, t in res['deps'] if how == 'depends_on')
    if after:
        body['depends_on'] = after
    if res.get('cond'):
        body['condition'] = 'enabled'
    return body


def render(model):
    """The HOT template of ``model`` (a dict)."""
    taint = tainted(model)
    return {
        'heat_template_version': '2021-04-16',
        'description': 'difftest: generated',
        'parameters': {
            'p': {'type': 'string', 'default': 'p0'},
            'enable': {'type': 'boolean', 'default': True}},
        'conditions': {'enabled': {'get_param': 'enable'}},
        'resources': {n: render_resource(model, n)
                      for n in model['resources']},
        'outputs': {
            'o_' + n: {'value': {'get_attr': [n, ATTRIBUTE[r['kind']]]}}
            for n, r in model['resources'].items() if r.get('output')},
        # Not a HOT key: stripped by literal(), read by volatile().
        '_volatile': sorted('o_' + n for n, r in model['resources'].items()
                            if r.get('output') and n in taint),
    }


def params_of(model):
    return {'p': model['params']['p'],
            'enable': 'true' if model['params']['enable'] else 'false'}


# ------------------------------------------------------------ step groups
class Generator(object):
    """Draws one plan; ``self.model`` is the stack's template as it stands.

    ``self.ok``: no resource or stack is FAILED, so a timing-dependent
    step may run. ``self.replaced``: resources that may have been
    replaced (their later deletes may run before their dependents': see
    ``scenarios.HEAT_DELETE_AFTER_REPLACE``).
    """

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.seed = seed
        self.counter = 0
        self.replaced = set()
        self.ok = True

    def fresh(self, prefix='v'):
        self.counter += 1
        return '%s%d' % (prefix, self.counter)

    def clean(self):
        """The current model without failures, waits or forced replace."""
        model = copy.deepcopy(self.model)
        for res in model['resources'].values():
            for key in ('fail', 'wait', 'update_replace'):
                res.pop(key, None)
        return model

    def pick(self, model, kinds, exclude=()):
        names = [n for n in present(model)
                 if model['resources'][n]['kind'] in kinds
                 and not model['resources'][n].get('cond')
                 and n not in exclude]
        return self.rng.choice(names) if names else None

    def change_values(self, model, count, kinds=IN_PLACE):
        for _ in range(count):
            name = self.pick(model, kinds)
            if name:
                res = model['resources'][name]
                res['value'] = self.fresh()
                if res['kind'] == 'group' and self.rng.random() < 0.5:
                    res['count'] = self.rng.randint(1, 3)

    # -- create
    def create(self):
        count = self.rng.randint(MIN_RESOURCES, MAX_RESOURCES)
        self.model = random_model(self.rng, count)
        roll = self.rng.random()
        empty = {'params': dict(self.model['params']), 'next': 0,
                 'resources': {}}
        if roll < 0.15:
            pivot = self.pick(self.model, ('test',))
            if pivot:
                rollback = self.rng.random() < 0.5
                self.model['resources'][pivot]['fail'] = True
                funnel(empty, self.model, pivot)
                self.ok = False
                self.gone = rollback
                return [create_op(self.model, rollback=rollback)], None
        if roll < 0.22:
            pivot = self.pick(self.model, ('test',))
            if pivot:
                self.model['resources'][pivot]['wait'] = {
                    'create': SLOW_SECS}
                funnel(empty, self.model, pivot)
                return [create_op(self.model, wait=False),
                        {'op': 'wait_resource', 'name': pivot,
                         'status': 'CREATE_IN_PROGRESS'},
                        {'op': 'delete'}], 'end'
        return [create_op(self.model)], None

    # -- plain updates (also the recovery after a failure)
    def update_in_place(self):
        model = self.clean()
        self.change_values(model, self.rng.randint(1, 4))
        return self.plain(model, 'update in place')

    def update_replace(self):
        model = self.clean()
        for _ in range(self.rng.randint(1, 2)):
            name = self.pick(model, ('test', 'random'))
            if not name:
                break
            res = model['resources'][name]
            if res['kind'] == 'random':
                res['length'] = self.rng.randint(4, 16)
            elif self.rng.random() < 0.5:
                res['replace'] = self.fresh('x')
            else:
                res['update_replace'] = True
                res['value'] = self.fresh()
            self.replaced.add(name)
        return self.plain(model, 'update replacing')

    def update_add_remove(self):
        model = self.clean()
        users = dependents(model)
        removable = [n for n in present(model) if not users[n]]
        self.rng.shuffle(removable)
        for name in removable[:self.rng.randint(0, 2)]:
            if len(model['resources']) > MIN_RESOURCES:
                del model['resources'][name]
        for _ in range(self.rng.randint(1, 3)):
            if len(model['resources']) < MAX_RESOURCES:
                kind = self.rng.choice(['test', 'value', 'none', 'random'])
                name = add_resource(self.rng, model, kind)
                model['resources'][name]['output'] = (
                    kind != 'none' and self.rng.random() < 0.3)
        return self.plain(model, 'update adding and removing')

    def plain(self, model, label):
        rollback = self.rng.choice([None, True, False])
        self.model = model
        self.ok = True
        return [update_op(model, label=label, rollback=rollback)]

    # -- steps that need a healthy stack
    def update_existing(self):
        params = {}
        if self.rng.random() < 0.7:
            params['p'] = self.fresh('p')
        else:
            params['enable'] = not self.model['params']['enable']
        self.model = copy.deepcopy(self.model)
        self.model['params'].update(params)
        shown = {k: (v if not isinstance(v, bool) else str(v).lower())
                 for k, v in params.items()}
        return [{'op': 'update', 'existing': True, 'params': shown,
                 'label': 'update --existing'}]

    def update_failing(self):
        old, model = self.model, self.clean()
        self.change_values(model, self.rng.randint(0, 3))
        pivot = self.pick(model, ('test',))
        if pivot is None:
            return None
        res = model['resources'][pivot]
        res['fail'] = True
        res['value'] = self.fresh()
        funnel(old, model, pivot)
        rollback = self.rng.random() < 0.5
        self.replaced.add(pivot)
        if rollback:
            self.ok = True
        else:
            self.model, self.ok = model, False
        return [update_op(model, rollback=rollback, label='failing update')]

    def slow_update(self):
        """An update whose pivot waits SLOW_SECS: (model, ops, pivot)."""
        old, model = self.model, self.clean()
        self.change_values(model, self.rng.randint(0, 2))
        pivot = self.pick(model, ('test',))
        if pivot is None:
            return None, None
        res = model['resources'][pivot]
        res['wait'] = {'update': SLOW_SECS}
        res['value'] = self.fresh()
        funnel(old, model, pivot)
        self.replaced.add(pivot)
        return model, [update_op(model, wait=False, label='slow update'),
                       {'op': 'wait_resource', 'name': pivot,
                        'status': 'UPDATE_IN_PROGRESS'}]

    def cancel(self):
        model, ops = self.slow_update()
        if ops is None:
            return None
        rollback = self.rng.random() < 0.5
        if not rollback:
            self.model, self.ok = model, False
        return ops + [{'op': 'cancel', 'rollback': rollback}]

    def supersede(self):
        model, ops = self.slow_update()
        if ops is None:
            return None
        self.model = model
        second = self.clean()
        self.change_values(second, self.rng.randint(0, 2))
        self.model, self.ok = second, True
        return ops + [update_op(second, label='superseding update')]

    def check(self):
        return [{'op': 'action', 'action': 'check'}]

    def suspend_resume(self):
        return [{'op': 'action', 'action': 'suspend'},
                {'op': 'action', 'action': 'resume'}]

    def delete_timeout(self):
        """A removed resource whose delete outlasts ``--timeout 1``.

        TestResource ignores ``fail`` on delete, so a stack timeout is
        what fails a delete. Three steps: give it a long delete wait
        (update in place), remove it with ``--timeout 1`` (the update
        fails, the resource is DELETE_FAILED), then an update with a
        longer timeout deletes it.
        """
        users = dependents(self.model)
        name = self.pick(self.model, ('test',),
                         exclude=[n for n, u in users.items() if u])
        if name is None:
            return None
        slow = self.clean()
        slow['resources'][name]['wait'] = {'delete': DELETE_WAIT_SECS}
        slow['resources'][name]['output'] = False
        gone = copy.deepcopy(slow)
        del gone['resources'][name]
        self.model, self.ok = gone, True
        return [update_op(slow, label='long delete wait'),
                update_op(gone, rollback=False, timeout=1,
                          label='removal timing out'),
                update_op(gone, timeout=10, label='removal again')]

    def delete_during(self):
        _model, ops = self.slow_update()
        return ops and ops + [{'op': 'delete'}]


PLAIN = ('update_in_place', 'update_replace', 'update_add_remove')
HEALTHY = {'update_existing': 2, 'update_failing': 2, 'cancel': 2,
           'supersede': 1, 'check': 1, 'suspend_resume': 1,
           'delete_timeout': 0.4}
PLAIN_WEIGHTS = {'update_in_place': 3, 'update_replace': 2,
                 'update_add_remove': 2}


def plan(seed):
    """The plan of ``seed``: {'name', 'seed', 'groups': [[op, ...], ...]}.

    3 to 8 step groups follow the create, unless it ended the stack (a
    rolled back or deleted create); the last is a delete (alone, or while
    an update runs). A group is one user-level step: an update, a cancel
    of a slow update, suspend then resume, ...
    """
    gen = Generator(seed)
    gen.gone = False
    first, end = gen.create()
    groups = [first]
    if end is None and not gen.gone:
        wanted = gen.rng.randint(MIN_STEPS, MAX_STEPS) - 1
        steps = 0
        while steps < wanted:
            weights = dict(PLAIN_WEIGHTS)
            if gen.ok:
                weights.update(HEALTHY)
            kind = gen.rng.choices(sorted(weights),
                                   [weights[k] for k in sorted(weights)])[0]
            ops = getattr(gen, kind)()
            if ops:
                groups.append(ops)
                steps += 1
        if gen.ok and gen.rng.random() < 0.15:
            ops = gen.delete_during()
            if ops:
                groups.append(ops)
                end = 'end'
    if end is None:
        groups.append([{'op': 'delete'}])
    return {'name': 'gen_%d' % seed, 'seed': seed, 'groups': groups,
            'replaced': sorted(gen.replaced)}


def create_op(model, rollback=False, wait=True):
    return {'op': 'create', 'model': model, 'rollback': rollback,
            'wait': wait}


def update_op(model, rollback=None, wait=True, timeout=None,
              label='update'):
    return {'op': 'update', 'model': model, 'rollback': rollback,
            'wait': wait, 'timeout': timeout, 'label': label}


def funnel(old, new, pivot):
    """Make the pivot the last of what the traversal acts on.

    Adds ``depends_on`` edges to ``pivot`` in ``new`` from every resource
    the step from ``old`` to ``new`` acts on (created or with changed
    properties, and what reads those) that is neither an ancestor nor a
    descendant of ``pivot``. Only edges into the pivot are added, and none
    from a descendant, so the graph stays acyclic.
    """
    before = {n: render_resource(old, n) for n in old['resources']}
    # Heat updates a nested stack's resource on every stack update, its
    # definition changed or not (StackResource._needs_update): seed 2's
    # unchanged ResourceGroup was still updating when the superseding
    # update came, once that came within a second of the pivot's start.
    acted = {n for n in present(new)
             if before.get(n) != render_resource(new, n)
             or new['resources'][n]['kind'] in NESTED}
    acted |= closure(acted, dependents(new))
    related = ancestors(new, pivot) | descendants(new, pivot) | {pivot}
    deps = new['resources'][pivot]['deps']
    for name in sorted(acted - related):
        if name in present(new):
            deps.append(['depends_on', name])


# --------------------------------------------------------- plan -> literal
def without_resources(the_plan, drop):
    """``the_plan`` without the resources ``drop``, or None if invalid.

    References to a dropped resource go too. A plan whose step waits for a
    dropped resource is invalid.
    """
    drop = set(drop)
    result = copy.deepcopy(the_plan)
    for group in result['groups']:
        for op in group:
            if op.get('name') in drop:
                return None
            model = op.get('model')
            if model is None:
                continue
            for name in drop:
                model['resources'].pop(name, None)
            for res in model['resources'].values():
                res['deps'] = [d for d in res['deps'] if d[1] not in drop]
    return result


def resource_names(the_plan):
    """Every resource name any step's template has, in a stable order."""
    names = set()
    for group in the_plan['groups']:
        for op in group:
            if op.get('model'):
                names.update(op['model']['resources'])
    return sorted(names)


def literal(the_plan):
    """The plan as a Python literal of templates and steps.

    ``{'name', 'templates': {file: template}, 'steps': [(kind, kwargs)],
    'volatile_outputs', 'unordered'}``; ``scenario_from_literal`` plays it.
    """
    templates, steps, volatile, edges = {}, [], set(), set()
    models = [op['model'] for group in the_plan['groups'] for op in group
              if op.get('model') is not None]
    replaced = set(the_plan.get('replaced', ()))
    uses_member = False
    for group in the_plan['groups']:
        for op in group:
            kwargs = {k: v for k, v in op.items()
                      if k not in ('op', 'model', 'rollback', 'timeout')
                      and v is not None}
            model = op.get('model')
            if model is not None:
                template = render(model)
                volatile.update(template.pop('_volatile'))
                uses_member |= any(r['kind'] == 'provider'
                                   for r in model['resources'].values())
                kwargs['template'] = _file_for(templates, template)
                kwargs['params'] = params_of(model)
                kwargs['extra'] = _extra(op)
                if not kwargs['extra']:
                    del kwargs['extra']
                edges |= replaced_edges(model, replaced)
            steps.append((op['op'], kwargs))
    if uses_member:
        templates[MEMBER] = MEMBER_TEMPLATE
    unordered = [(action, req, dep, HEAT_DELETE_AFTER_REPLACE)
                 for req, dep in sorted(edges)
                 for action in ('DELETE', 'UPDATE', 'ROLLBACK')]
    unordered += [(action, req, dep, EDGE_OF_SOME_STEPS)
                  for req, dep in sorted(varying_edges(models))
                  for action in ('CREATE', 'UPDATE', 'DELETE', 'ROLLBACK')]
    return {
        'name': the_plan['name'],
        'templates': templates,
        'steps': steps,
        'volatile_outputs': sorted(volatile),
        'unordered': unordered,
    }


EDGE_OF_SOME_STEPS = (
    'the edge is in some steps\' templates only (funnel), and the order '
    'check applies every edge it saw to every traversal')


def varying_edges(models):
    """(required, dependent) edges missing from a template with both."""
    found = [{(t, n) for n, r in m['resources'].items()
              for _how, t in r['deps']} for m in models]
    every = set().union(*found) if found else set()
    return {(req, dep) for req, dep in every
            if any((req, dep) not in edges and req in m['resources']
                   and dep in m['resources']
                   for m, edges in zip(models, found))}


def replaced_edges(model, replaced):
    """(required, dependent) edges of ``model`` from a replaced resource.

    ``replaced``: the resources a step replaced on purpose. Every
    RandomString counts too: a change of anything its salt reads replaces
    it (seed 3 of the first runs). So do RandomStrings reading a replaced
    resource, and resources reading its physical id (get_resource).
    """
    users = dependents(model)
    res = model['resources']
    start = set(replaced) | {n for n, r in res.items()
                             if r['kind'] == 'random'}
    follows = {n: {d for d in users[n]
                   if ['get_resource', n] in res[d]['deps']
                   or res[d]['kind'] == 'random'}
               for n in res}
    reached = (closure(start, follows) | start) & set(users)
    return {(name, dep) for name in reached for dep in users[name]}


def _file_for(templates, template):
    for name, known in templates.items():
        if known == template:
            return name
    name = 't%02d.yaml' % len(templates)
    templates[name] = template
    return name


def _extra(op):
    extra = []
    if op['op'] == 'create' and op.get('rollback'):
        extra.append('--enable-rollback')
    if op['op'] == 'update' and op.get('rollback') is not None:
        extra += ['--rollback',
                  'enabled' if op['rollback'] else 'disabled']
    if op.get('timeout'):
        extra += ['--timeout', str(op['timeout'])]
    return extra


STEPS = {'create': dsl.Create, 'update': dsl.Update,
         'wait_resource': dsl.WaitResource,
         'wait_stack_status': dsl.WaitStackStatus, 'cancel': dsl.Cancel,
         'delete': dsl.Delete, 'action': dsl.StackAction}


def scenario_from_literal(spec, directory=None):
    """A dsl.Scenario from ``literal()``'s output.

    Writes the templates to ``directory`` (a new temporary one if None),
    so that a literal pasted into scenarios.py is a fixed scenario.
    """
    directory = directory or tempfile.mkdtemp(prefix='difftest-')
    for name, template in spec['templates'].items():
        with open(os.path.join(directory, name), 'w') as f:
            yaml.safe_dump(template, f, default_flow_style=False)
    steps = []
    for kind, kwargs in spec['steps']:
        kwargs = dict(kwargs)
        if 'template' in kwargs:
            kwargs['template'] = os.path.join(directory, kwargs['template'])
        steps.append(STEPS[kind](**kwargs))
    return dsl.Scenario(spec['name'], steps,
                        volatile_outputs=spec['volatile_outputs'],
                        unordered=spec['unordered'],
                        doc='Generated (tests/parity/generate.py).')
