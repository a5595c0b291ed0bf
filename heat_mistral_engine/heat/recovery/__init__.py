"""Recover what a dead heat-engine or a lost execution leaves behind.

The watchdog re-runs the nodes of dead engines; the orphan check repairs
stacks and executions that disagree.
"""
