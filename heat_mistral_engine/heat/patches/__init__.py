"""Every change this plugin makes to Heat's private code.

Each module replaces or wraps some of Heat's methods and checks first,
with ``heat_release``, that the installed Heat is what it was written
for. Nothing else in the package touches Heat's private methods.
"""
