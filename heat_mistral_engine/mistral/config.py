"""Former name of ``heat_mistral_engine.mistral.options``.

Kept so that anything that stored this path (an ``oslo.config.opts`` entry
point of an older install, a config-generator or Sphinx setup) still finds
the options; new code imports ``options``.
"""

from heat_mistral_engine.mistral.options import GROUP  # noqa: F401
from heat_mistral_engine.mistral.options import list_opts  # noqa: F401
from heat_mistral_engine.mistral.options import OPTS  # noqa: F401
from heat_mistral_engine.mistral.options import register_opts  # noqa: F401
