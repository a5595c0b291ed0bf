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

"""Hidden parameters that reach an ``OS::Mistral::Hook``'s workflow input.

Heat keeps a parameter declared ``hidden: true`` out of sight: ``******``
in ``openstack stack show``, encrypted in its database with
``encrypt_parameters_and_properties``. A hook hands its input to Mistral,
which keeps it in clear text in its database (the execution's input, its
tasks' and action executions' inputs and results, whatever the workflow
publishes) and shows it to everyone who may read the project's
executions (user guide, "Hidden parameters"). The hook cannot hide it
there, so it tells the user: ``hidden_parameters`` finds them, and
``warning`` is the sentence the user is shown.
"""

import collections.abc

from heat.engine.cfn import functions as cfn_functions
from heat.engine import function
from heat.engine.hot import functions as hot_functions

_PARAMETER_FUNCTIONS = (hot_functions.GetParam, cfn_functions.ParamRef)


def hidden_parameters(parameters, snippet):
    """Sorted names of the hidden parameters ``snippet`` reads.

    ``parameters`` is the stack's Heat ``Parameters``; ``snippet`` a
    property's value as Heat parsed it (unresolved functions), searched
    at any depth, through maps, lists and other functions' arguments: a
    ``get_param`` (or CFN ``Ref``) of a hidden parameter counts wherever
    it stands. A value that reaches the input any other way (``get_attr``
    of a resource that holds one, a nested stack's parameter fed from
    its parent's hidden one) is not seen.
    """
    hidden = {name for name, is_hidden in parameters.map(
        lambda param: param.hidden()).items() if is_hidden}
    found = set()
    pending = [snippet]
    while pending:
        value = pending.pop()
        if isinstance(value, function.Function):
            if isinstance(value, _PARAMETER_FUNCTIONS):
                name = _parameter_name(value.args)
                if name in hidden:
                    found.add(name)
            # A macro (``if``) keeps its raw syntax as args, and what it
            # stands for, parsed, as ``parsed``.
            pending.append(value.parsed if isinstance(value, function.Macro)
                           else value.args)
        elif isinstance(value, collections.abc.Mapping):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif (isinstance(value, collections.abc.Iterable) and
                not isinstance(value, (str, bytes))):
            pending.extend(value)
    return sorted(found)


def _parameter_name(args):
    # get_param: name, or get_param: [name, path...]; Ref: name.
    if isinstance(args, (list, tuple)) and args:
        args = args[0]
    return args if isinstance(args, str) else None


def warning(names, key='input'):
    """The sentence the user is shown for hidden ``names`` in ``key``."""
    return ('Hidden parameter%s %s passed in %s: Mistral stores the '
            'workflow\'s input in clear text (the execution\'s input, its '
            'tasks\' and actions\' inputs and results) and shows it to '
            'whoever may read the project\'s executions'
            % ('s' if len(names) > 1 else '', ', '.join(names), key))
