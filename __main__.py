"""The ML platform: read and validate the stack config, declare every cluster and workload."""

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from stacks import ConfigError, load_from_pulumi
from stacks.platform import build_platform, export_outputs

try:
    # The runtime's whole config map (file, CLI, ESC), so unknown keys are caught too.
    stack_config = load_from_pulumi(pulumi.get_stack(), {**get_config_env(), **CONFIG.get()})
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None

for warning in stack_config.warnings:
    pulumi.log.warn(warning)
export_outputs(build_platform(stack_config))
