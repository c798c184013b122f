"""Outputs the AWS provider computes: ids, ARNs, autonamed names, EKS endpoint and issuer."""

from __future__ import annotations

import json
from typing import Any

from plan.emulators import Emulated, call, fake_certificate, resource, stable_hex


def _region(r: Emulated) -> str:
    return r.get("region") or r.provider.get("region") or "us-east-1"


def _account(r: Emulated) -> str:
    # Provider inputs arrive as the engine passes them: structured values as JSON strings.
    accounts = r.provider.get("allowedAccountIds") or "[]"
    accounts = json.loads(accounts) if isinstance(accounts, str) else accounts
    return accounts[0] if accounts else "000000000000"


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _arn(r: Emulated, service: str, resource_path: str, regional: bool = True) -> str:
    """arn:<partition>:<service>:<region, empty for global services>:<account>:<resource>"""
    region = _region(r) if regional else ""
    return f"arn:{_partition(_region(r))}:{service}:{region}:{_account(r)}:{resource_path}"


def _ec2(r: Emulated, prefix: str, kind: str) -> dict[str, Any]:
    """EC2 ids are `<prefix>-` and 17 hex digits; their ARNs name the resource kind."""
    resource_id = f"{prefix}-{stable_hex(r.urn, 17)}"
    return {"id": resource_id, "arn": _arn(r, "ec2", f"{kind}/{resource_id}")}


@resource("aws:ec2/vpc:Vpc")
def _vpc(r: Emulated) -> dict[str, Any]:
    outputs = _ec2(r, "vpc", "vpc")
    outputs["defaultSecurityGroupId"] = f"sg-{stable_hex(r.urn + '/sg', 17)}"
    outputs["mainRouteTableId"] = f"rtb-{stable_hex(r.urn + '/rtb', 17)}"
    outputs["ownerId"] = _account(r)
    return outputs


@resource("aws:ec2/subnet:Subnet")
def _subnet(r: Emulated) -> dict[str, Any]:
    return _ec2(r, "subnet", "subnet")


@resource("aws:ec2/internetGateway:InternetGateway")
def _internet_gateway(r: Emulated) -> dict[str, Any]:
    return _ec2(r, "igw", "internet-gateway")


@resource("aws:ec2/routeTable:RouteTable")
def _route_table(r: Emulated) -> dict[str, Any]:
    return _ec2(r, "rtb", "route-table")


@resource("aws:ec2/natGateway:NatGateway")
def _nat_gateway(r: Emulated) -> dict[str, Any]:
    return _ec2(r, "nat", "natgateway")


@resource("aws:ec2/eip:Eip")
def _eip(r: Emulated) -> dict[str, Any]:
    allocation = f"eipalloc-{stable_hex(r.urn, 17)}"
    digest = bytes.fromhex(stable_hex(r.urn, 6))
    return {
        "id": allocation,
        "allocationId": allocation,
        "publicIp": f"52.{digest[0]}.{digest[1]}.{digest[2] or 1}",
    }


@resource("aws:ec2/vpcEndpoint:VpcEndpoint")
def _vpc_endpoint(r: Emulated) -> dict[str, Any]:
    return _ec2(r, "vpce", "vpc-endpoint")


@resource("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
def _default_security_group(r: Emulated) -> dict[str, Any]:
    return _ec2(r, "sg", "security-group")


@resource("aws:ec2/launchTemplate:LaunchTemplate")
def _launch_template(r: Emulated) -> dict[str, Any]:
    outputs = _ec2(r, "lt", "launch-template")
    return {**outputs, "name": r.get("name") or r.autoname, "latestVersion": 1, "defaultVersion": 1}


@resource("aws:kms/key:Key")
def _kms_key(r: Emulated) -> dict[str, Any]:
    h = stable_hex(r.urn, 32)
    key_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return {"id": key_id, "keyId": key_id, "arn": _arn(r, "kms", f"key/{key_id}")}


@resource("aws:kms/alias:Alias")
def _kms_alias(r: Emulated) -> dict[str, Any]:
    return {"id": r.get("name"), "arn": _arn(r, "kms", r.get("name"))}


@resource("aws:iam/role:Role")
def _role(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    return {
        "id": name,
        "name": name,
        "arn": _arn(r, "iam", f"role/{name}", regional=False),
        "uniqueId": f"AROA{stable_hex(r.urn, 17).upper()}",
    }


@resource("aws:iam/policy:Policy")
def _policy(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    path = r.get("path") or "/"
    arn = _arn(r, "iam", f"policy{path}{name}", regional=False)
    return {
        "id": arn,
        "name": name,
        "path": path,
        "arn": arn,
        "policyId": f"ANPA{stable_hex(r.urn, 17).upper()}",
    }


@resource("aws:iam/rolePolicy:RolePolicy")
def _role_policy(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    return {"id": f"{r.get('role')}:{name}", "name": name}


@resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def _role_policy_attachment(r: Emulated) -> dict[str, Any]:
    return {"id": f"{r.get('role')}-{stable_hex(r.urn, 8)}"}


@resource("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _oidc_provider(r: Emulated) -> dict[str, Any]:
    host = str(r.get("url") or "").removeprefix("https://")
    arn = _arn(r, "iam", f"oidc-provider/{host}", regional=False)
    return {"id": arn, "arn": arn}


@resource("aws:cloudwatch/logGroup:LogGroup")
def _log_group(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    return {"id": name, "name": name, "arn": _arn(r, "logs", f"log-group:{name}")}


@resource("aws:eks/cluster:Cluster")
def _eks_cluster(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    region = _region(r)
    oidc_id = stable_hex(r.urn, 32).upper()
    vpc_config = dict(r.get("vpcConfig") or {})
    vpc_config["clusterSecurityGroupId"] = f"sg-{stable_hex(r.urn + '/cluster-sg', 17)}"
    vpc_config["vpcId"] = f"vpc-{stable_hex(r.urn + '/vpc', 17)}"
    return {
        "id": name,
        "name": name,
        "arn": _arn(r, "eks", f"cluster/{name}"),
        "endpoint": f"https://{oidc_id}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": fake_certificate(r.urn)},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc_id}"}]}],
        "vpcConfig": vpc_config,
        "platformVersion": "eks.1",
        "status": "ACTIVE",
    }


@resource("aws:eks/nodeGroup:NodeGroup")
def _eks_node_group(r: Emulated) -> dict[str, Any]:
    name = r.get("nodeGroupName") or r.autoname
    cluster = r.get("clusterName")
    h = stable_hex(r.urn, 32)
    group_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return {
        "id": f"{cluster}:{name}",
        "nodeGroupName": name,
        "arn": _arn(r, "eks", f"nodegroup/{cluster}/{name}/{group_id}"),
        # EKS names the node group's Auto Scaling group after the group and its id.
        "resources": [{"autoscalingGroups": [{"name": f"eks-{name}-{group_id}"}]}],
        "status": "ACTIVE",
    }


@resource("aws:eks/addon:Addon")
def _eks_addon(r: Emulated) -> dict[str, Any]:
    cluster, addon = r.get("clusterName"), r.get("addonName")
    return {
        "id": f"{cluster}:{addon}",
        "arn": _arn(r, "eks", f"addon/{cluster}/{addon}/{stable_hex(r.urn, 32)}"),
        "addonVersion": r.get("addonVersion") or "v0.0.0-eksbuild.1",
    }


@call("aws:eks/getAddonVersion:getAddonVersion")
def _addon_version(args: dict[str, Any]) -> dict[str, Any]:
    """EKS's default version of an add-on for a cluster version: a stand-in of the real format
    (v<x.y.z>-eksbuild.<n>), distinct per add-on and cluster version, stable across runs."""
    addon, kubernetes_version = args.get("addonName"), args.get("kubernetesVersion")
    build = int(stable_hex(f"{addon}/{kubernetes_version}", 2), 16) % 9 + 1
    return {
        "id": addon,
        "addonName": addon,
        "kubernetesVersion": kubernetes_version,
        "mostRecent": bool(args.get("mostRecent")),
        "version": f"v{kubernetes_version}.0-eksbuild.{build}",
        "region": args.get("region") or "",
    }


@call("aws:cloudwatch/getLogGroups:getLogGroups")
def _log_groups(args: dict[str, Any]) -> dict[str, Any]:
    """A fresh account: no log group under any prefix (a test may emulate a leftover one)."""
    return {
        "id": args.get("logGroupNamePrefix") or "",
        "arns": [],
        "logGroupNames": [],
        "logGroupNamePrefix": args.get("logGroupNamePrefix"),
        "region": args.get("region") or "",
    }


@resource("aws:eks/accessEntry:AccessEntry")
def _eks_access_entry(r: Emulated) -> dict[str, Any]:
    cluster, principal = r.get("clusterName"), r.get("principalArn")
    return {
        "id": f"{cluster}:{principal}",
        "accessEntryArn": _arn(r, "eks", f"access-entry/{cluster}/role/{stable_hex(r.urn, 32)}"),
    }


@resource("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
def _eks_access_policy_association(r: Emulated) -> dict[str, Any]:
    return {"id": f"{r.get('clusterName')}#{r.get('principalArn')}#{r.get('policyArn')}"}


@resource("aws:autoscaling/tag:Tag")
def _autoscaling_tag(r: Emulated) -> dict[str, Any]:
    return {"id": f"{r.get('autoscalingGroupName')},{(r.get('tag') or {}).get('key')}"}


@resource("aws:ecr/repository:Repository")
def _ecr_repository(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    account, region = _account(r), _region(r)
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return {
        "id": name,
        "name": name,
        "arn": _arn(r, "ecr", f"repository/{name}"),
        "registryId": account,
        "repositoryUrl": f"{account}.dkr.ecr.{region}.{domain}/{name}",
    }


@resource("aws:ecr/lifecyclePolicy:LifecyclePolicy")
def _ecr_lifecycle_policy(r: Emulated) -> dict[str, Any]:
    return {"id": r.get("repository"), "registryId": _account(r)}


@resource("aws:s3/bucket:Bucket")
def _bucket(r: Emulated) -> dict[str, Any]:
    name = r.get("bucket") or r.autoname
    return {
        "id": name,
        "bucket": name,
        "arn": f"arn:{_partition(_region(r))}:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{_region(r)}.amazonaws.com",
        "region": _region(r),
    }


@resource(
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketPolicy:BucketPolicy",
)
def _bucket_configuration(r: Emulated) -> dict[str, Any]:
    # Each bucket sub-resource is identified by its bucket.
    return {"id": r.get("bucket")}


@resource("aws:acm/certificate:Certificate")
def _acm_certificate(r: Emulated) -> dict[str, Any]:
    # DNS validation: one CNAME per name of the certificate (ACM DescribeCertificate,
    # DomainValidationOptions.ResourceRecord).
    names = [r.get("domainName"), *(r.get("subjectAlternativeNames") or [])]
    certificate_id = f"{stable_hex(r.urn, 8)}-{stable_hex(r.urn + '/1', 4)}-{stable_hex(r.urn + '/2', 4)}"
    return {
        "arn": _arn(r, "acm", f"certificate/{certificate_id}"),
        "domainValidationOptions": [
            {
                "domainName": name,
                "resourceRecordName": f"_{stable_hex(name, 32)}.{name}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{stable_hex(r.urn + name, 32)}.acm-validations.aws.",
            }
            for name in names
        ],
    }
