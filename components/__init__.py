"""Reusable ComponentResources: one package per cloud, plus cloud-neutral Kubernetes workloads."""
