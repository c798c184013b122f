"""Who reaches a cluster, per cloud: the forms a team identity must take, the Kubernetes groups
the namespaces bind, and the CI paths to the API server.

A team's `deployers` and `viewers` are identities in the form the cluster's authenticator
puts in tokens, and the namespace RoleBindings must name exactly what it puts there:

- GKE: Google group e-mails, which reach RBAC only through Google Groups for RBAC (the cluster's
  `authenticatorGroupsConfig.securityGroup`, a `gke-security-groups@<domain>` group the team
  groups are members of; cloud.google.com/kubernetes-engine/docs/how-to/google-groups-rbac).
- EKS: IAM role ARNs (IAM Identity Center permission-set roles included). EKS maps a role to
  Kubernetes groups through an access entry; the RoleBindings name those groups
  (`mlplatform:<team>:deployers`), never the ARN.
- AKS: Entra group object IDs; AKS matches RoleBinding groups by object ID only (Azure/AKS#515).
- existing clusters: whatever the cluster's own authenticator names (free-form).
"""

from __future__ import annotations

import re

GUID = re.compile(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}")
# A group address: local part and a domain with a dot (Google groups are e-mail addresses).
GROUP_EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+-]*@([a-z0-9-]+\.)+[a-z]{2,}")
# The group-of-groups GKE reads memberships from must be named exactly so ("Google Groups for
# RBAC": "the group must be named gke-security-groups").
GKE_SECURITY_GROUP = re.compile(r"gke-security-groups@([a-z0-9-]+\.)+[a-z]{2,}")
# An IAM role ARN, path included ("Create access entries", docs.aws.amazon.com/eks/latest/
# userguide/creating-access-entries.html: "If the ARN is for an IAM role, it can include a path").
ROLE_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}")
# IAM Identity Center creates a permission set's role under this path, named
# AWSReservedSSO_<permission set>_<hash>; an access entry needs the ARN with the path (without it
# EKS answers "The specified principalArn is invalid", terraform-aws-eks #2969).
SSO_ROLE_PATH = re.compile(
    r"role/aws-reserved/sso\.amazonaws\.com/([a-z]{2}(-[a-z]+)+-[0-9]/)?AWSReservedSSO_"
)

ROLES = ("deployers", "viewers")

SERVICE = {"gcp": "GKE", "aws": "EKS", "azure": "AKS"}
# Per cloud: why an identity of another form grants nothing, and what to give instead.
IDENTITY_FORMS = {
    "gcp": "GKE puts Google group e-mails in tokens (Google Groups for RBAC); give the group's "
    "address (e.g. ml-engineers@acme.example)",
    "aws": "EKS maps IAM roles to Kubernetes groups through access entries; give a role ARN "
    "(arn:aws:iam::<account>:role/<path/><name>)",
    "azure": "AKS puts Entra group object IDs in tokens, not names or e-mails (Azure/AKS#515); "
    "give the group's object ID (az ad group show --group <name> --query id)",
}


def identity_problem(cloud: str, cluster: str, identity: str) -> str | None:
    """Why `identity` cannot name a team's group on `cluster` (of `cloud`), or None."""
    valid = {
        "gcp": GROUP_EMAIL.fullmatch(identity),
        "aws": ROLE_ARN.fullmatch(identity),
        "azure": GUID.fullmatch(identity),
    }
    if cloud not in valid:  # existing: the cluster's own authenticator decides
        return None
    where = f"{identity!r} cannot work on {SERVICE[cloud]} cluster {cluster!r}"
    if not valid[cloud]:
        return f"{where}: {IDENTITY_FORMS[cloud]}"
    if cloud == "aws" and "/AWSReservedSSO_" in identity and not SSO_ROLE_PATH.search(identity):
        return (
            f"{where}: an access entry needs an IAM Identity Center role's full ARN, with its path "
            "role/aws-reserved/sso.amazonaws.com/<region>/ (aws iam get-role --role-name <name> "
            "--query Role.Arn)"
        )
    return None


def eks_group(team: str, role: str) -> str:
    """The Kubernetes group an EKS access entry gives a team's role ARNs, and the name its
    RoleBindings bind (CreateAccessEntry kubernetesGroups: "the value for name that you've
    specified for kind: Group as a subject in a Kubernetes RoleBinding"; EKS does not check that
    the binding exists). Prefixed, so it cannot collide with groups Kubernetes or EKS define."""
    return f"mlplatform:{team}:{role}"
