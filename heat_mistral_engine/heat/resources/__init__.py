"""What templates can use: ``OS::Mistral::Hook`` and ``hosted_on``."""
