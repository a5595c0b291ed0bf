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

"""Run by tests/unit/mistral/patches/test_cache_expressions.py in a child
process: Mistral's options and Heat's clash in one process. Evaluates Jinja
expressions as Mistral's engine does and prints one JSON line with what it
saw."""

import json
import sys

import mistral.config  # noqa: F401  (what makes this a Mistral process)
from oslo_config import cfg

cfg.CONF([], project='mistral')
if sys.argv[1:] == ['disabled']:
    from heat_mistral_engine.mistral import options
    options.register_opts(cfg.CONF)
    cfg.CONF.set_override('cache_expressions', False, group=options.GROUP)

from heat_mistral_engine.mistral import actions  # noqa: E402,F401
from heat_mistral_engine.mistral.patches import (  # noqa: E402
    cache_expressions)
from mistral import exceptions  # noqa: E402
from mistral.expressions import base  # noqa: E402
from mistral.expressions import jinja_expression  # noqa: E402

env = jinja_expression.JinjaEvaluator._env
cached = hasattr(env.compile_expression, 'cache_info')
calls = []
if not cached:
    # Unpatched: count what reaches Jinja's compiler.
    compile_expression = env.compile_expression

    def counting(*args, **kwargs):
        calls.append(args[0])
        return compile_expression(*args, **kwargs)

    env.compile_expression = counting


def compilations():
    """How many times an expression text was compiled."""
    if cached:
        return env.compile_expression.cache_info().misses
    return len(calls)


def evaluate(text, ctx):
    try:
        return jinja_expression.InlineJinjaEvaluator.evaluate(text, ctx)
    except exceptions.JinjaEvaluationException as exc:
        return 'error: %s' % exc


first = evaluate('{{ _.node_1 }}', {'node_1': {'a': 1}})
second = evaluate('{{ _.node_1 }}', {'node_1': 'other'})
undefined = evaluate('{{ _.node_1 }}', {})
compiled_node_1 = compilations()
unsafe = evaluate('{{ _.x.__class__.__mro__ }}', {'x': 'text'})
functions = base.get_custom_functions()
functions['mutated'] = None
print(json.dumps({
    'incompatibility': cache_expressions.PATCH.incompatibility(),
    'installed_again': cache_expressions.PATCH.install(),
    'cached': cached,
    'first': first, 'second': second,
    'undefined_fails': undefined.startswith('error: '),
    'unsafe_fails': unsafe.startswith('error: '),
    'compilations': compiled_node_1,
    'functions_kept': 'mutated' not in base.get_custom_functions() and
    'task' in base.get_custom_functions(),
}))
