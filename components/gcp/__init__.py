"""GKE platform: network, cluster, node pools, Artifact Registry, GCS buckets, identities."""
