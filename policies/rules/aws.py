"""EKS: secrets encryption, a restricted API endpoint, IMDSv2 on nodes, control-plane audit
logs; node groups the cluster autoscaler can find and scale up from zero."""

from __future__ import annotations

import ipaddress
import json

from pulumi_policy import Severity

from .base import (
    ADVISORY,
    depends_on,
    dig,
    is_mapping,
    items_of,
    mapping_of,
    number,
    resource_rule,
    resources_of,
    show,
    stack_rule,
)

EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG_TAG = "aws:autoscaling/tag:Tag"

AUTOSCALER = "k8s.io/cluster-autoscaler"
TAINT_EFFECT = {
    "NO_SCHEDULE": "NoSchedule",
    "PREFER_NO_SCHEDULE": "PreferNoSchedule",
    "NO_EXECUTE": "NoExecute",
}
GPU_INSTANCE_FAMILIES = ("g", "p")


@resource_rule(
    "eks-secrets-encryption",
    family="posture",
    types=(EKS_CLUSTER,),
    description="EKS encrypts Kubernetes secrets with a KMS key (envelope encryption).",
    remediation='Set encryptionConfig {resources: ["secrets"], provider: {keyArn: <KMS key ARN>}}.',
    severity=Severity.HIGH,
)
def eks_secrets_encryption(args, report, config):
    encryption = args.props.get("encryptionConfig")
    if not is_mapping(encryption):
        report("encryptionConfig is not set: secrets are not envelope-encrypted with a KMS key")
        return
    if "secrets" not in items_of(encryption.get("resources")):
        report('encryptionConfig.resources does not include "secrets"')
    if not dig(encryption, "provider.keyArn"):
        report("encryptionConfig.provider.keyArn is not set")


@resource_rule(
    "eks-restricted-endpoint",
    family="posture",
    types=(EKS_CLUSTER,),
    description="The EKS API endpoint is private, or public only to listed networks.",
    remediation="Set vpcConfig.endpointPrivateAccess: true and either endpointPublicAccess: false or "
    "publicAccessCidrs to the office/VPN ranges (never 0.0.0.0/0).",
    severity=Severity.HIGH,
)
def eks_restricted_endpoint(args, report, config):
    vpc = args.props.get("vpcConfig") or {}
    if vpc.get("endpointPrivateAccess") is not True:
        report("vpcConfig.endpointPrivateAccess is not true: nodes reach the API over the internet")
    # The provider's default for endpointPublicAccess is true.
    if vpc.get("endpointPublicAccess") is False:
        return
    cidrs = [str(c) for c in items_of(vpc.get("publicAccessCidrs"))]
    if not cidrs:
        report("the public endpoint is open to 0.0.0.0/0 (publicAccessCidrs is not set)")
    for cidr in cidrs:
        try:
            if ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
                report(f"vpcConfig.publicAccessCidrs allows {cidr}")
        except ValueError:
            report(f"vpcConfig.publicAccessCidrs has {cidr!r}, which is not a CIDR block")


@resource_rule(
    "eks-imdsv2",
    family="posture",
    types=(EKS_NODE_GROUP, LAUNCH_TEMPLATE),
    description="EKS nodes require IMDSv2 (session tokens) with a small hop limit, through a launch "
    "template.",
    remediation="Give every node group a launch template with metadataOptions {httpTokens: required, "
    "httpPutResponseHopLimit: 1 or 2}; pods get AWS credentials from IRSA / Pod Identity instead.",
    severity=Severity.HIGH,
    config={"maxHopLimit": {"type": "integer", "minimum": 1, "maximum": 64, "default": 2}},
)
def eks_imdsv2(args, report, config):
    if args.resource_type == EKS_NODE_GROUP:
        template = args.props.get("launchTemplate")
        if not is_mapping(template) or not (template.get("id") or template.get("name")):
            report("the node group has no launch template, so IMDSv2 is not enforced on its nodes")
        return
    options = args.props.get("metadataOptions") or {}
    if options.get("httpEndpoint") == "disabled":
        return
    if options.get("httpTokens") != "required":
        report(
            f"metadataOptions.httpTokens is {options.get('httpTokens') or 'unset'}; IMDSv1 stays available"
        )
    hops = number(options.get("httpPutResponseHopLimit"))
    if hops is not None and hops > config["maxHopLimit"]:
        report(
            f"metadataOptions.httpPutResponseHopLimit is {show(hops)}; at most {show(config['maxHopLimit'])}"
        )


@resource_rule(
    "eks-control-plane-logs",
    family="posture",
    types=(EKS_CLUSTER,),
    description="EKS ships API, audit and authenticator logs to CloudWatch.",
    remediation='Set enabledClusterLogTypes to include "api", "audit" and "authenticator".',
    enforcement=ADVISORY,
    severity=Severity.LOW,
    config={
        "requiredLogTypes": {
            "type": "array",
            "items": {
                "type": "string",
                "enum": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
            },
            "default": ["api", "audit", "authenticator"],
        }
    },
)
def eks_control_plane_logs(args, report, config):
    enabled = set(items_of(args.props.get("enabledClusterLogTypes")))
    missing = [t for t in config["requiredLogTypes"] if t not in enabled]
    if missing:
        report(f"enabledClusterLogTypes lacks {', '.join(missing)}")


def _asg_tags(args, node_group) -> dict[str, str]:
    """Tags on the node group's Auto Scaling group: `aws.autoscaling.Tag` resources whose group
    name comes from this node group (property dependency; offline, where a record keeps no
    outputs, the component the node group shares with its tags)."""
    tags = {}
    for tag in resources_of(args, ASG_TAG):
        dependencies = (tag.property_dependencies or {}).get("autoscalingGroupName") or []
        if any(d.urn == node_group.urn for d in dependencies) or (
            tag.parent is not None
            and node_group.parent is not None
            and tag.parent.urn == node_group.parent.urn
        ):
            tags[str(dig(tag.props, "tag.key"))] = str(dig(tag.props, "tag.value"))
    return tags


def required_asg_tags(props) -> dict[str, str]:
    """What the cluster autoscaler needs on a node group's Auto Scaling group (FACTS.md):
    discovery tags always; node-template tags when it must scale the group up from zero."""
    required = {f"{AUTOSCALER}/enabled": "true", f"{AUTOSCALER}/{props.get('clusterName')}": "owned"}
    if number(dig(props, "scalingConfig.minSize")) == 0:
        for key, value in mapping_of(props.get("labels")).items():
            required[f"{AUTOSCALER}/node-template/label/{key}"] = str(value)
        for taint in items_of(props.get("taints")):
            effect = TAINT_EFFECT.get(taint.get("effect"), taint.get("effect"))
            required[f"{AUTOSCALER}/node-template/taint/{taint.get('key')}"] = (
                f"{taint.get('value') or ''}:{effect}"
            )
        instance_types = [str(t) for t in items_of(props.get("instanceTypes"))]
        if "NVIDIA" in str(props.get("amiType") or "").upper() or any(
            t.startswith(GPU_INSTANCE_FAMILIES) for t in instance_types
        ):
            required[f"{AUTOSCALER}/node-template/resources/nvidia.com/gpu"] = ""
    return required


@stack_rule(
    "eks-autoscaler-discovery",
    family="cost",
    description="Every EKS node group carries the Auto Scaling group tags the cluster autoscaler needs to "
    "find it and to scale it up from zero.",
    remediation="Tag the node group's Auto Scaling group (aws.autoscaling.Tag on the name the node group "
    "reports): k8s.io/cluster-autoscaler/enabled and /<cluster>, plus node-template label, taint and "
    "resources tags when min is 0.",
)
def eks_autoscaler_discovery(args, report, config):
    for node_group in resources_of(args, EKS_NODE_GROUP):
        present = _asg_tags(args, node_group)
        wrong = [
            f"{key}={value}" if value else key
            for key, value in required_asg_tags(node_group.props).items()
            if key not in present or (value and present[key] != value)
        ]
        if wrong:
            report(
                f"the Auto Scaling group of node group {node_group.name} lacks {', '.join(sorted(wrong))}: "
                "the autoscaler cannot find it or cannot tell that a pending pod would fit a new node",
                node_group.urn,
            )


KMS_KEY = "aws:kms/key:Key"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
VPC = "aws:ec2/vpc:Vpc"
IAM_POLICY_TYPES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")


@resource_rule(
    "aws-kms-key-rotation",
    family="posture",
    types=(KMS_KEY,),
    description="Customer-managed KMS keys rotate their key material every year.",
    remediation="Set enableKeyRotation: true on the key.",
    severity=Severity.MEDIUM,
)
def aws_kms_key_rotation(args, report, config):
    if args.props.get("enableKeyRotation") is not True:
        report("enableKeyRotation is not true")


@stack_rule(
    "aws-default-security-group-closed",
    family="posture",
    description="Every VPC's default security group allows no traffic, so nothing that lands in it by "
    "accident is reachable (CIS AWS 5.4).",
    remediation="Manage the VPC's default security group (aws.ec2.DefaultSecurityGroup) with no ingress "
    "and no egress rules.",
    severity=Severity.MEDIUM,
)
def aws_default_security_group_closed(args, report, config):
    groups = list(resources_of(args, DEFAULT_SECURITY_GROUP))
    for vpc in resources_of(args, VPC):
        # The platform manages each VPC's default group beside the VPC (same parent).
        mine = [g for g in groups if g.parent is vpc.parent]
        if not mine:
            report(
                f"VPC {vpc.name}'s default security group is left as AWS creates it (all egress, "
                "all traffic within the group)",
                vpc.urn,
            )
        for group in mine:
            if items_of(group.props.get("ingress")) or items_of(group.props.get("egress")):
                report(f"default security group {group.name} has rules: it must allow nothing", group.urn)


@resource_rule(
    "aws-iam-no-wildcard-admin",
    family="posture",
    types=IAM_POLICY_TYPES,
    description="No IAM policy the platform writes allows every action on every resource.",
    remediation="Name the actions (service:Action) and scope the resources; vendor policies that need "
    "broad reads (e.g. Describe*) still name their service.",
    severity=Severity.HIGH,
)
def aws_iam_no_wildcard_admin(args, report, config):
    document = args.props.get("policy")
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return  # computed at preview: the real engine sees it on update
    for statement in items_of(mapping_of(document).get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action")
        resources = statement.get("Resource")
        actions = [actions] if isinstance(actions, str) else items_of(actions)
        resources = [resources] if isinstance(resources, str) else items_of(resources)
        if any(a in ("*", "*:*") for a in actions) and "*" in resources:
            report(f"statement {statement.get('Sid') or '(unnamed)'} allows every action on every resource")


FLOW_LOG = "aws:ec2/flowLog:FlowLog"


@stack_rule(
    "aws-vpc-flow-logs",
    family="posture",
    description="Every VPC records flow logs of accepted and rejected traffic, so traffic to and from "
    "nodes and pods can be investigated.",
    remediation="Keep mlplatform: aws.flowLogRetentionDays set; the platform then declares an "
    "aws.ec2.FlowLog (trafficType ALL) to a CloudWatch log group for the VPC.",
    severity=Severity.MEDIUM,
)
def aws_vpc_flow_logs(args, report, config):
    flow_logs = list(resources_of(args, FLOW_LOG))
    for vpc in resources_of(args, VPC):
        mine = [log for log in flow_logs if depends_on(log, "vpcId", vpc)]
        if not mine:
            report(f"VPC {vpc.name} has no flow log: its traffic is not recorded", vpc.urn)
        elif not any(log.props.get("trafficType") == "ALL" for log in mine):
            kinds = ", ".join(sorted(str(log.props.get("trafficType")) for log in mine))
            report(f"VPC {vpc.name} logs only {kinds} traffic, not ALL", vpc.urn)


def _policy_document(value) -> dict:
    """A policy document from its JSON text (a mapping when it could not be parsed)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return mapping_of(value)


def _principals(statement) -> list[str]:
    principal = statement.get("Principal")
    if isinstance(principal, str):
        return [principal]
    found = []
    for value in mapping_of(principal).values():
        found += [value] if isinstance(value, str) else [str(v) for v in items_of(value)]
    return found


def _listed(value) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in items_of(value)]


@resource_rule(
    "aws-kms-key-policy",
    family="posture",
    types=(KMS_KEY,),
    description="Customer-managed KMS keys carry their own key policy: the account root administers the key, "
    "named roles use it, and no statement allows every principal.",
    remediation="Set the key's policy: a statement for arn:aws:iam::<account>:root with the key "
    'administration actions only, and one per role that encrypts or decrypts with it; no Principal "*".',
    severity=Severity.HIGH,
)
def aws_kms_key_policy(args, report, config):
    if not args.props.get("policy"):
        report("the key has no policy of its own: the default lets the account's IAM policies alone decide")
        return
    administered = False
    for statement in items_of(_policy_document(args.props.get("policy")).get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid") or "(unnamed)"
        principals = _principals(statement)
        actions = _listed(statement.get("Action"))
        if "*" in principals:
            report(f"statement {sid} allows every principal")
        if any(p.endswith(":root") for p in principals):
            administered = True
            if any(a in ("*", "kms:*", "kms:Decrypt", "kms:Create*", "kms:CreateGrant") for a in actions):
                report(
                    f"statement {sid} lets the account root decrypt (or grant itself decrypt): IAM policies "
                    "alone then decide who reads the key's data"
                )
    if not administered:
        report("no statement lets the account root administer the key: nobody could fix its policy")
