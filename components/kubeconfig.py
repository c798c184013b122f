"""Kubeconfigs that authenticate through a cloud's exec plugin, never static credentials."""

from __future__ import annotations

import yaml


def exec_kubeconfig(context: str, server: str, ca_data: str | None, exec_spec: dict) -> str:
    """A one-context kubeconfig whose user runs `exec_spec` (client.authentication.k8s.io).
    Without `ca_data` the server's certificate is checked against the system's public roots."""
    cluster = {"server": server, "certificate-authority-data": ca_data} if ca_data else {"server": server}
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
        "users": [
            {
                "name": context,
                "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", **exec_spec}},
            }
        ],
    }
    return yaml.safe_dump(document, sort_keys=False)
