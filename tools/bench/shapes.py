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


"""Benchmark stack shapes: HOT templates of trivial resources.

Every resource is an ``OS::Heat::TestResource`` (no cloud behind it, so a
run measures only ordering and bookkeeping); a dependency through data is a
``get_attr [r, output]``. ``SHAPES`` maps a shape name to a function
returning the template as a dict.
"""

TEST = 'OS::Heat::TestResource'
VERSION = '2021-04-16'


def _res(value=None, depends_on=None):
    rsrc = {'type': TEST, 'properties': {'value': value or 'v'}}
    if depends_on:
        rsrc['depends_on'] = depends_on
    return rsrc


def _attr(name):
    return {'get_attr': [name, 'output']}


def _join(names):
    return {'list_join': ['+', [_attr(n) for n in names]]}


def chain(n, prefix='c', first=None):
    """r0 <- r1 <- ... : each reads get_attr of the one before.

    ``first``: r0's value (default its name), which every resource passes
    on.
    """
    names = ['%s%04d' % (prefix, i) for i in range(n)]
    return {name: _res(_attr(names[i - 1]) if i else (first or name))
            for i, name in enumerate(names)}


def fanout(n, prefix='o'):
    """One root, ``n`` resources each reading the root's output."""
    root = prefix + 'root'
    resources = {root: _res(root)}
    for i in range(n):
        resources['%s%04d' % (prefix, i)] = _res(_attr(root))
    return resources


def fanin(n, prefix='i'):
    """``n`` independent resources, one sink that depends_on all of them."""
    names = ['%s%04d' % (prefix, i) for i in range(n)]
    resources = {name: _res(name) for name in names}
    resources[prefix + 'sink'] = _res('sink', depends_on=names)
    return resources


def independent(n, prefix='n'):
    """``n`` resources with no dependencies."""
    return {'%s%04d' % (prefix, i): _res('v%d' % i) for i in range(n)}


def layered(layers, width, prefix='l'):
    """``layers`` x ``width``; each reads two of the layer before."""
    resources = {}
    for layer in range(layers):
        for i in range(width):
            name = '%s%02d_%04d' % (prefix, layer, i)
            if layer == 0:
                resources[name] = _res(name)
            else:
                prev = ['%s%02d_%04d' % (prefix, layer - 1, (i + k) % width)
                        for k in (0, 1)]
                resources[name] = _res(_join(prev))
    return resources


def mixed(total=1000):
    """All of the above in one stack (``total`` resources).

    For 1000: a chain of 50, a fan-out and a fan-in of 250 each (root or
    sink included), 5 layers of 50, and independent resources for the
    rest; other totals scale each part.
    """
    part = total // 4
    resources = {}
    resources.update(chain(total // 20, 'mc'))
    resources.update(fanout(part - 1, 'mo'))
    resources.update(fanin(part - 1, 'mi'))
    resources.update(layered(5, part // 5, 'ml'))
    resources.update(independent(total - len(resources), 'mn'))
    return resources


def template(resources):
    return {'heat_template_version': VERSION, 'resources': resources}


SHAPES = {
    'chain100': lambda: template(chain(100)),
    # Issue 25's case: 20 resources passing on a value of 50 KB.
    'chain20big': lambda: template(chain(20, first='x' * 50000)),
    'fanout500': lambda: template(fanout(500)),
    'fanin200': lambda: template(fanin(200)),
    'indep500': lambda: template(independent(500)),
    'layered1000': lambda: template(layered(10, 100)),
    'mixed1000': lambda: template(mixed(1000)),
    # Small ones, to try the harness quickly. layered100 has
    # layered1000's stored-context ratio (the same per-task pattern).
    'layered100': lambda: template(layered(10, 10)),
    # mixed1000's parts, each a fifth as big.
    'mixed200': lambda: template(mixed(200)),
    'chain10': lambda: template(chain(10)),
    'indep50': lambda: template(independent(50)),
}

DEFAULT_SHAPES = ('chain100', 'fanout500', 'fanin200', 'indep500',
                  'layered1000', 'mixed1000')
