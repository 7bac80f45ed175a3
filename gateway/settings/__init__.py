"""Settings: the immutable model (`gateway.settings.model`) and the loader that validates a
file and the environment against it and the provider registry (`gateway.settings.load`)."""
