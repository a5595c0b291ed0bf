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

"""Plain user workflows, and what Mistral 23 makes of them: exactly.

Data only (no import), shared by the unit test that runs them on Mistral's
engine in-process with and without the package's patches
(tests/unit/mistral/patches/test_user_workflows.py, through
check_user_workflows.py) and by the functional test that runs them on the
local cloud's patched Mistral (tests/functional/test_shared_mistral.py).

Each definition is a template with ``%(name)s`` for the workflow name.
``EXPECTED`` is shaped as both tests read an execution back: its state and
output, and per task its state, published values, retry count
(``retry_no`` of its runtime context) and actions' ``[state, output]``
sorted by their JSON text.
"""

DIRECT = """
version: '2.0'
%(name)s:
  type: direct
  input:
    - names
  output:
    greeting: '{{ _.greeting }}'
    echoed: '{{ _.echoed }}'
    joined: '{{ _.joined }}'
    recovered: '{{ _.recovered }}'
    side: '{{ _.side }}'
  tasks:
    hello:
      action: std.echo output="hello"
      publish:
        greeting: '{{ task().result }}'
      on-success:
        - each
        - side
    side:
      action: std.noop
      publish:
        side: '{{ task("hello").result }} from the side'
      on-success:
        - joined
    each:
      with-items: name in {{ _.names }}
      action: std.echo output="{{ _.name }}!"
      publish:
        echoed: '{{ task().result }}'
      on-success:
        - joined
    joined:
      join: all
      action: std.echo output="{{ _.greeting }} {{ _.echoed | join(',') }}"
      publish:
        joined: '{{ task().result }}'
      on-success:
        - flaky
    flaky:
      action: std.fail error_data="broken"
      retry:
        count: 2
        delay: 0
      on-error:
        - recover
    recover:
      action: std.echo output="recovered after {{ task('flaky').state }}"
      publish:
        recovered: '{{ task().result }}'
"""

REVERSE = """
version: '2.0'
%(name)s:
  type: reverse
  output:
    last: '{{ _.last }}'
  tasks:
    first:
      action: std.echo output="first"
      publish:
        first: '{{ task().result }}'
    second:
      action: std.echo output="{{ _.first }} then second"
      publish:
        second: '{{ task().result }}'
      requires: [first]
    third:
      action: std.noop
      publish:
        last: '{{ _.second }} then third'
      requires: [first, second]
"""

# name: (definition, workflow input, start parameters)
WORKFLOWS = {
    'user_direct': (DIRECT, {'names': ['a', 'b', 'c']}, {}),
    'user_reverse': (REVERSE, {}, {'task_name': 'third'}),
}


def _ok(result):
    return [['SUCCESS', {'result': result}]]


def _task(state, published, actions, retry_no=None):
    return {'state': state, 'published': published, 'actions': actions,
            'retry_no': retry_no}


EXPECTED = {
    'user_direct': {
        'state': 'SUCCESS',
        'output': {'greeting': 'hello', 'echoed': ['a!', 'b!', 'c!'],
                   'joined': 'hello a!,b!,c!',
                   'recovered': 'recovered after ERROR',
                   'side': 'hello from the side'},
        'tasks': {
            'hello': _task('SUCCESS', {'greeting': 'hello'}, _ok('hello')),
            'side': _task('SUCCESS', {'side': 'hello from the side'},
                          _ok(None)),
            'each': _task('SUCCESS', {'echoed': ['a!', 'b!', 'c!']},
                          _ok('a!') + _ok('b!') + _ok('c!')),
            'joined': _task('SUCCESS', {'joined': 'hello a!,b!,c!'},
                            _ok('hello a!,b!,c!')),
            # Tried once and retried twice, then handled by on-error.
            'flaky': _task('ERROR', {},
                           [['ERROR', {'result': 'broken'}]] * 3,
                           retry_no=2),
            'recover': _task('SUCCESS',
                             {'recovered': 'recovered after ERROR'},
                             _ok('recovered after ERROR')),
        },
    },
    'user_reverse': {
        'state': 'SUCCESS',
        'output': {'last': 'first then second then third'},
        'tasks': {
            'first': _task('SUCCESS', {'first': 'first'}, _ok('first')),
            'second': _task('SUCCESS', {'second': 'first then second'},
                            _ok('first then second')),
            'third': _task('SUCCESS',
                           {'last': 'first then second then third'},
                           _ok(None)),
        },
    },
}
