# Release notes of heat-mistral-engine, built by `tox -e releasenotes`.

extensions = [
    'openstackdocstheme',
    'reno.sphinxext',
]

# openstackdocstheme
openstackdocs_repo_name = 'openstack/heat-mistral-engine'
openstackdocs_use_storyboard = False
openstackdocs_auto_name = False
openstackdocs_bug_project = 'heat-mistral-engine'
openstackdocs_bug_tag = 'releasenotes'

project = 'heat-mistral-engine Release Notes'
copyright = 'heat-mistral-engine developers'
# Release notes are not versioned: they list every release.
version = ''
release = ''

master_doc = 'index'
source_suffix = {'.rst': 'restructuredtext'}
exclude_patterns = []
pygments_style = 'native'
html_theme = 'openstackdocs'
html_static_path = []
locale_dirs = ['locale/']
