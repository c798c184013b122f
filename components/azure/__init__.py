"""AKS platform: resource group, VNet and NAT, cluster and agent pools, ACR, storage, workload identity."""
