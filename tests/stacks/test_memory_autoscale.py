"""A memory target pins a model server at max replicas: the config says so, without blocking."""

from __future__ import annotations

from stacks import load_stack_file


def test_a_memory_target_is_a_warning_naming_its_key(dev_config, write_stack):
    assert load_stack_file(write_stack(dev_config)).warnings == []
    dev_config["config"]["mlplatform:models"]["model2"]["autoscale"]["memory"] = 80
    assert load_stack_file(write_stack(dev_config)).warnings == [
        "mlplatform:models.model2.autoscale.memory: a model server's memory stays up after load, so this "
        "target keeps it at max replicas: scale on cpu or requests instead"
    ]
