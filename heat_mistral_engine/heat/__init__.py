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
