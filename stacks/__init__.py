"""Typed stack config (validated once, at the door) and the wiring of one stack."""

from stacks.config import StackConfig
from stacks.loading import ConfigError, load_from_pulumi, load_stack_file

__all__ = ["ConfigError", "StackConfig", "load_from_pulumi", "load_stack_file"]
