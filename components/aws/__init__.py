"""EKS platform: VPC, cluster, managed node groups, add-ons, ECR, S3 buckets, IRSA identities."""
