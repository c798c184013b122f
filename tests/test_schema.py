"""The stack file's JSON Schema and config reference: generated from the models (a test fails
when they drift), and every shipped stack and example validates against the schema."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from plan.cli import main
from plan.schema import REFERENCE_FILE, SCHEMA_FILE, generated
from tests.helpers import SHIPPED_STACK_FILES

VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))


def test_the_schema_and_the_reference_match_the_models():
    for path, text in generated().items():
        assert path.read_text() == text, f"{path.name} is stale: run `python -m plan schema`"
    assert main(["schema", "--check"]) == 0


def test_schema_check_fails_on_drift(monkeypatch, capsys):
    monkeypatch.setattr("plan.schema.generated", lambda: {SCHEMA_FILE: "{}\n", REFERENCE_FILE: ""})
    assert main(["schema", "--check"]) == 2
    assert "out of date: schema/stack.schema.json, docs/config-reference.md" in capsys.readouterr().err


@pytest.mark.parametrize("path", SHIPPED_STACK_FILES, ids=lambda p: p.name)
def test_every_shipped_stack_validates(path):
    VALIDATOR.validate(yaml.safe_load(path.read_text()))


def test_the_schema_rejects_what_the_models_reject(dev_config):
    VALIDATOR.validate(dev_config)
    config = dev_config["config"]
    config["mlplatform:modelz"] = {}
    assert not VALIDATOR.is_valid(dev_config)
    del config["mlplatform:modelz"]
    config["mlplatform:clusters"]["main"]["pools"]["system"]["min"] = "one"
    assert not VALIDATOR.is_valid(dev_config)
    config["mlplatform:clusters"]["main"]["pools"]["system"]["min"] = 1
    # Whole numbers fill string fields, as the models accept them (`pulumi config set --path`
    # stores 2 as one); a decimal is refused by both (1.10 would arrive as 1.1).
    config["mlplatform:models"]["model1"]["image"]["tag"] = 2
    VALIDATOR.validate(dev_config)
    config["mlplatform:models"]["model1"]["image"]["tag"] = 1.4
    assert not VALIDATOR.is_valid(dev_config)
    config["mlplatform:models"]["model1"]["image"]["tag"] = "1.4"
    del config["mlplatform:environment"]
    assert not VALIDATOR.is_valid(dev_config)


def test_the_reference_lists_every_key_of_the_stack_config():
    reference = REFERENCE_FILE.read_text()
    for key in ("environment", "clusters", "models", "jobs", "machineType", "acceleratorCount"):
        assert f"| `{key}` |" in reference, key
