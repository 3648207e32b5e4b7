"""The deployment's configuration: the YAML file's schema and its reader, the environment
variables, and the messages that say what is wrong with either (docs/configuration.md)."""
