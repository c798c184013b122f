"""Cloud-neutral workloads: model services, fanout routing, batch jobs, team namespaces, add-ons."""
