"""The patches of Mistral's engine: the one place that touches its internals.

One module per patch, named after its option in ``[heat_mistral_engine]``
of mistral.conf (``heat_mistral_engine.mistral.options``), each on the
shared ``base``; ``registry`` installs them, in order, when a Mistral
process loads this package's actions. ``direct_completions`` patches
nothing: it is what the completion server reads of Mistral.
"""
