"""What this plugin keeps in Heat's ``sync_point`` table.

Node claims, concurrency slots, parking records, the stack's completion
point and the mark of the traversals Mistral orders: rows that live exactly
as long as Heat's own sync points of the traversal, changed by
compare-and-swap so that engines agree.
"""
