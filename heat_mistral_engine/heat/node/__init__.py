"""Run the resource nodes Mistral hands to heat-engine.

The RPC server (``server``) admits each node under its traversal's limit
(``admission``), checks what the request must prove (``guard``) and runs
it with Heat's own functions (``runner``); receipts are sealed (``seal``)
and operator hook reports acted on (``hook_reports``).
"""
