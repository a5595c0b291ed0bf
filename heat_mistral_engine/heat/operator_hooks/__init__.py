"""Operator hooks inside heat-engine (the pure side is ``graph``).

Read the hooks file heat.conf names, refuse a stack whose hooks cannot
run, and say what a hook learns of a resource.
"""
