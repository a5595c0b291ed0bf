"""Start a stack traversal as a Mistral execution, and end executions.

From Heat's convergence graph to the compiled workflow, its execution and
the sealed traversal token, and back: the executions of traversals Heat
stops or fails are ended.
"""
