"""Old path of the ``2021-04-16-hosted`` template class: kept for stored paths.

Installed entry-point metadata may still name this module.
"""
from heat_mistral_engine.heat.resources.hosted_template import HOTemplate20210416Hosted  # noqa: F401,E501
