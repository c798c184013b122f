"""Cloud-neutral Kubernetes building blocks: workloads, routing, namespaces, cluster add-ons."""
