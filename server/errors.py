"""The errors a user or a client sees. Each message says what happened and what to do."""


class ToolFailure(Exception):
    """A tool could not do what was asked; the message goes back to the model as an isError result."""


class ConfigError(Exception):
    """The configuration (environment or policy file) is unusable; the server does not start."""
