"""`pulumi new <repo>`: the template block of Pulumi.yaml prompts for every key a stack needs,
and its defaults, stored as `pulumi config set` stores them (strings), make a stack that runs."""

from __future__ import annotations

import yaml

from plan.engine import PROJECT_DIR, run_program
from stacks.config import StackConfig

TEMPLATE = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["template"]


def test_the_template_prompts_for_every_required_key():
    required = {
        f"mlplatform:{field.alias}" for field in StackConfig.model_fields.values() if field.is_required()
    }
    assert required == set(TEMPLATE["config"])
    for key, prompt in TEMPLATE["config"].items():
        assert set(prompt) <= {"description", "default", "secret"}, key
        assert isinstance(prompt["default"], str), key  # template config values are strings


def test_the_template_defaults_make_a_stack_the_program_runs(tmp_path):
    config = {key: prompt["default"] for key, prompt in TEMPLATE["config"].items()}
    config["pulumi:disable-default-providers"] = ["*"]
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}))
    record = run_program(stack_file)
    assert record.of_type("gcp:container/cluster:Cluster")
    assert record.of_type("gcp:container/nodePool:NodePool")
