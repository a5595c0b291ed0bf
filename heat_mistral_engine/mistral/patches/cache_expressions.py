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

"""``cache_expressions``: keep Jinja expressions compiled.

For every Jinja expression it evaluates, Mistral 23 compiles the
expression's text into Python code again
(``Environment.compile_expression``: Jinja's lexer, parser, code
generator and ``compile``) and loads its custom functions from their entry
points again (``get_custom_functions``, a stevedore ``ExtensionManager``);
compiling costs many times what evaluating the compiled expression does
(see doc/source/benchmarks.rst, "Where Mistral's CPU goes"), and each task of
a generated workflow evaluates five or more expressions (its action input,
its publish). The patch keeps the compiled expressions of the last
``EXPRESSION_CACHE_SIZE`` texts and the custom functions, which are fixed
for the life of a process (entry points are read once). A compiled
expression holds no data: it is the code of the text, run in Jinja's
sandbox with a new context at every call, as before.

Same for every workflow (``base.SAME_FOR_EVERY_WORKFLOW``): Jinja compiles
a text to the same code every time, and the functions are those Mistral
would load: stevedore keeps a process's entry points for as long as its
``sys.path`` stays as it is, and Mistral's never changes.

Install it after ``skip_redundant_queries``: the functions it keeps are
those it finds (see ``registry``).
"""

import functools

from heat_mistral_engine.mistral.patches import base

COMPILE_PARAMS = ('self', 'source', 'undefined_to_none')
# Distinct expression texts kept compiled per process. Generated workflows
# use a few texts per resource (``{{ _.node_<id> }}``), so this covers the
# stacks a Mistral runs at once; an evicted text is compiled again.
EXPRESSION_CACHE_SIZE = 4096


class CacheExpressions(base.Patch):
    option = 'cache_expressions'
    sharing = base.SAME_FOR_EVERY_WORKFLOW
    left_alone = 'Mistral\'s expression evaluation as it is'
    cost = 'every task compiles its expressions again'
    applied = ('Mistral keeps Jinja expressions compiled and its expression '
               'functions loaded')

    def installed(self):
        from mistral.expressions import jinja_expression
        env = jinja_expression.JinjaEvaluator._env
        return bool(getattr(env.compile_expression, '_hme_original', None))

    def mistral_problem(self):
        from mistral.expressions import base as expressions
        from mistral.expressions import jinja_expression
        env = getattr(jinja_expression.JinjaEvaluator, '_env', None)
        if env is None or not hasattr(env, 'compile_expression'):
            return 'JinjaEvaluator has no Jinja environment _env'
        problem = base.signature_problem((
            (base.original(type(env).compile_expression), COMPILE_PARAMS),))
        if problem:
            return problem
        if base.signature_problem((
                (base.original(expressions.get_custom_functions), ()),)):
            return 'get_custom_functions now takes arguments'
        return None

    def apply(self):
        from mistral.expressions import base as expressions
        from mistral.expressions import jinja_expression
        # The evaluator's own environment only (an overlay of Mistral's
        # sandboxed one): Jinja's environment class and every other
        # environment stay as they are. lru_cache is thread-safe; two
        # threads may compile the same text once each, with the same
        # result.
        env = jinja_expression.JinjaEvaluator._env
        compiled = functools.lru_cache(maxsize=EXPRESSION_CACHE_SIZE)(
            env.compile_expression)
        compiled._hme_original = env.compile_expression
        env.compile_expression = compiled
        expressions.get_custom_functions = functions_kept(
            expressions.get_custom_functions)


def functions_kept(get_custom_functions):
    """``get_custom_functions`` loaded once, now.

    The returned function takes no argument and returns a new copy of
    what ``get_custom_functions()`` returned at this call: callers own the
    dict they get, as before.
    """
    functions = get_custom_functions()

    @functools.wraps(get_custom_functions)
    def kept_functions():
        return dict(functions)

    kept_functions._hme_original = get_custom_functions
    return kept_functions


PATCH = CacheExpressions()
