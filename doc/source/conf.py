# Documentation of heat-mistral-engine, built by `tox -e docs`
# (sphinx-build -W: warnings are errors).

extensions = [
    'openstackdocstheme',
    # cli.rst: the commands' own help, loaded by their entry points.
    'cliff.sphinxext',
    # configuration.rst: the options, from the oslo.config.opts entry points.
    'oslo_config.sphinxext',
]

# cli.rst documents this package's own commands: no "provided by the
# heat-mistral-engine plugin" under each.
autoprogram_cliff_app_dist_name = 'heat-mistral-engine'
# Quotes and ellipses only: the help texts name options (--repair), which
# dashes would turn into an en dash.
smartquotes_action = 'qe'

# openstackdocstheme
openstackdocs_repo_name = 'openstack/heat-mistral-engine'
openstackdocs_use_storyboard = False
openstackdocs_auto_name = False
openstackdocs_bug_project = 'heat-mistral-engine'
openstackdocs_bug_tag = 'doc'

project = 'heat-mistral-engine'
copyright = 'heat-mistral-engine developers'

master_doc = 'index'
source_suffix = {'.rst': 'restructuredtext'}
exclude_patterns = []
pygments_style = 'native'
html_theme = 'openstackdocs'
