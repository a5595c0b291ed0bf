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

"""Everything that runs inside heat-engine or heat-api, one package per role.

Lowest first; a package imports only from itself, from those before it and
from ``heat_mistral_engine.config``, ``protocol``, ``execution_link`` and
``graph`` (tests/unit/test_layout.py checks it):

``cache``           in-process caches the nodes of an engine worker share;
``clients``         Mistral's API, direct completions, other engines' liveness;
``store``           rows kept in Heat's ``sync_point`` table (claims, slots,
                    parking records, the stack's completion point,
                    traversal marks);
``patches``         every change to Heat's private code, with the one check
                    of Heat's release and signatures;
``resources``       ``OS::Mistral::Hook`` and the ``hosted_on`` template;
``operator_hooks``  the operator hooks file, its validation, hook plans;
``traversal``       start a traversal as a Mistral execution, end executions;
``node``            run the nodes Mistral hands to heat-engine;
``recovery``        the watchdog (dead engines) and the orphan check;
``startup``         the entry point, and the wiring of the above into Heat;
``api``             runs in heat-api: the read-only workflow view of a stack.

The modules directly in this folder only keep old import paths working.
"""
