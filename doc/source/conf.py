# Documentation of heat-mistral-engine, built by `tox -e docs`
# (sphinx-build -W: warnings are errors).

extensions = [
    'openstackdocstheme',
]

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
