"""Old path of ``heat.stack_lifecycle_plugins``: kept for stored metadata.

Installed entry-point metadata and deployments that name this module keep
working; importing it installs the plugin as ``startup.plugin`` does.
"""
from heat_mistral_engine.heat.startup.plugin import MistralSchedulerPlugin  # noqa: F401,E501
