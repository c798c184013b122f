"""The engine's monitor encoding: requests decode and responses encode to exactly what the SDK's
own (slower) decoder and serializer give."""

from __future__ import annotations

import pytest
from google.protobuf import struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc, settings
from pulumi.runtime.sync_await import _sync_await

from plan import engine
from plan.engine import PROJECT_DIR, decode_request, run_program, state_struct

SECRET = {rpc._special_sig_key: rpc._special_secret_sig, "value": "s3cr3t"}


def shape(value):
    """A comparable picture of decoded values: types included, Unknown objects by their kind."""
    if isinstance(value, Unknown):
        return "<unknown>"
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return (type(value).__name__, value)


def _struct(value: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value)
    return struct


@pytest.mark.parametrize(
    "value",
    [
        {"name": "a", "spec": {"replicas": 3.0, "ratio": 0.5, "on": True, "none": None, "list": [1.0, None]}},
        {"metadata": {"labels": {}}, "empty": [], "nested": [{"a": [[2.0]]}]},
        {"endpoint": rpc.UNKNOWN, "name": "known"},
        {"kubeconfig": SECRET, "items": [{"token": SECRET}]},
    ],
    ids=["plain", "empty-and-nested", "unknown", "secrets"],
)
def test_decoding_gives_what_the_sdk_gives(value, monkeypatch):
    # Unknowns decode to Unknown objects in a preview, as the engine's runs are.
    monkeypatch.setattr(settings, "is_dry_run", lambda: True)
    struct = _struct(value)
    wire, record = decode_request(struct)
    sdk = rpc.deserialize_properties(struct)
    assert shape(wire) == shape(sdk)
    assert record == engine.plain(sdk)


def test_record_values_are_plain_json_and_share_what_needs_no_conversion():
    wire, record = decode_request(_struct({"meta": {"name": "a"}, "spec": {"replicas": 3.0, "ratio": 0.5}}))
    assert record == {"meta": {"name": "a"}, "spec": {"replicas": 3, "ratio": 0.5}}
    assert type(record["spec"]["replicas"]) is int
    assert record["meta"] is wire["meta"]  # nothing to convert: the same mapping
    assert wire["spec"]["replicas"] == 3.0 and type(wire["spec"]["replicas"]) is float


def test_every_request_of_a_real_run_decodes_as_the_sdk_decodes(monkeypatch):
    checked = []

    def checking(struct):
        wire, record = decode_request(struct)
        sdk = rpc.deserialize_properties(struct)
        assert shape(wire) == shape(sdk)
        assert record == engine.plain(sdk)
        checked.append(struct)
        return wire, record

    monkeypatch.setattr(engine, "decode_request", checking)
    record = run_program(PROJECT_DIR / "Pulumi.prod.yaml")
    assert len(checked) == len(record.resources)


def test_every_response_decodes_as_the_sdk_serializer_would_have_it(monkeypatch):
    responses = []

    def recording(state, request_object, inputs):
        struct = state_struct(state, request_object, inputs)
        responses.append((state, struct))
        return struct

    monkeypatch.setattr(engine, "state_struct", recording)
    run_program(PROJECT_DIR / "Pulumi.prod.yaml")
    monkeypatch.setattr(settings, "is_dry_run", lambda: True)
    assert len(responses) > 50
    for state, struct in responses:
        sdk = _sync_await(rpc.serialize_properties(state, {}))
        assert shape(rpc.deserialize_properties(struct)) == shape(rpc.deserialize_properties(sdk))
