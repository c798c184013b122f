"""EKS managed add-ons pinned to the version EKS names as the default for the cluster's version."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def managed_addon(
    name: str,
    addon_name: str,
    cluster_name: pulumi.Input[str],
    kubernetes_version: str,
    opts: pulumi.ResourceOptions,
    **settings,
) -> aws.eks.Addon:
    """An EKS add-on at the version EKS marks as default for `kubernetes_version`.

    Without `addon_version` EKS installs that default once and never moves it, so a cluster
    upgrade leaves kube-proxy, CoreDNS and the CNI behind. The default per cluster version is
    what `aws eks describe-addon-versions` and the add-on pages of the EKS user guide list; the
    provider's getAddonVersion invoke (mostRecent false) returns it, so a cluster upgrade moves
    the add-ons with it and a new default shows as a reviewed change in the preview.
    """
    version = aws.eks.get_addon_version_output(
        addon_name=addon_name,
        kubernetes_version=kubernetes_version,
        most_recent=False,
        opts=pulumi.InvokeOutputOptions(parent=opts.parent),
    ).version
    return aws.eks.Addon(
        name,
        cluster_name=cluster_name,
        addon_name=addon_name,
        addon_version=version,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        opts=opts,
        **settings,
    )
