"""Object storage (GCS buckets, S3 buckets, Azure storage accounts): private, encrypted,
with uniform identity-based access."""

from __future__ import annotations

from pulumi_policy import Severity

from .azure import FLOW_LOG, STORAGE_ACCOUNT
from .base import ADVISORY, depends_on, dig, items_of, resource_rule, resources_of, stack_rule

GCS_BUCKET = "gcp:storage/bucket:Bucket"
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"

PUBLIC_BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


@resource_rule(
    "bucket-private",
    family="posture",
    types=(GCS_BUCKET, *S3_BUCKETS, S3_PUBLIC_ACCESS_BLOCK, STORAGE_ACCOUNT, BLOB_CONTAINER),
    description="Buckets and blob containers cannot be made public.",
    remediation="GCS: publicAccessPrevention: enforced. S3: no public ACL and a public access block with "
    "all four "
    "flags true. Azure: allowBlobPublicAccess: false and containers with publicAccess: None.",
    severity=Severity.CRITICAL,
)
def bucket_private(args, report, config):
    props, kind = args.props, args.resource_type
    if kind == GCS_BUCKET:
        if props.get("publicAccessPrevention") != "enforced":
            report(
                f"publicAccessPrevention is {props.get('publicAccessPrevention') or 'inherited'}, not "
                "enforced"
            )
    elif kind in S3_BUCKETS:
        if props.get("acl") in PUBLIC_CANNED_ACLS:
            report(f"the bucket ACL is {props.get('acl')}")
    elif kind == S3_PUBLIC_ACCESS_BLOCK:
        off = [flag for flag in PUBLIC_BLOCK_FLAGS if props.get(flag) is not True]
        if off:
            report(f"the public access block leaves {', '.join(off)} off")
    elif kind == STORAGE_ACCOUNT:
        if props.get("allowBlobPublicAccess") is not False:
            report("allowBlobPublicAccess is not false: containers can be opened to anonymous reads")
    elif props.get("publicAccess") not in (None, "None"):
        report(f"the container allows anonymous {props.get('publicAccess')} access")


@stack_rule(
    "bucket-public-access-block",
    family="posture",
    description="Every S3 bucket has its own public access block.",
    remediation="Declare an aws.s3.BucketPublicAccessBlock for the bucket with all four flags true.",
    severity=Severity.CRITICAL,
)
def bucket_public_access_block(args, report, config):
    blocks = list(resources_of(args, S3_PUBLIC_ACCESS_BLOCK))
    for bucket in resources_of(args, *S3_BUCKETS):
        if not any(depends_on(block, "bucket", bucket) for block in blocks):
            report(f"S3 bucket {bucket.name} has no BucketPublicAccessBlock", bucket.urn)


def _s3_encryption(rules) -> list[tuple[str, bool]]:
    """(algorithm, customer-managed key named) of each rule."""
    defaults = [dig(rule, "applyServerSideEncryptionByDefault") or {} for rule in rules]
    return [(str(d.get("sseAlgorithm")), bool(d.get("kmsMasterKeyId"))) for d in defaults]


@stack_rule(
    "bucket-encrypted",
    family="posture",
    description="Object storage is encrypted at rest (with customer-managed keys where required) and only "
    "reachable over TLS 1.2+.",
    remediation="S3: a BucketServerSideEncryptionConfiguration (aws:kms with a key where required). GCS: "
    "encryption.defaultKmsKeyName where required. Azure: enableHttpsTrafficOnly: true, "
    "minimumTlsVersion: TLS1_2.",
    severity=Severity.HIGH,
    config={"requireCustomerManagedKeys": {"type": "boolean", "default": False}},
)
def bucket_encrypted(args, report, config):
    cmk = config["requireCustomerManagedKeys"]
    encryption = list(resources_of(args, *S3_ENCRYPTION))
    for bucket in resources_of(args, *S3_BUCKETS):
        inline = dig(bucket.props, "serverSideEncryptionConfiguration.rule")
        rules = _s3_encryption([inline] if inline else [])
        for resource in encryption:
            if depends_on(resource, "bucket", bucket):
                rules += _s3_encryption(items_of(resource.props.get("rules")))
        algorithms = [algorithm for algorithm, _ in rules]
        if not rules:
            report(f"S3 bucket {bucket.name} has no server-side encryption configuration", bucket.urn)
        elif cmk and not any(algorithm in KMS_ALGORITHMS and key for algorithm, key in rules):
            report(
                f"S3 bucket {bucket.name} is encrypted with {', '.join(algorithms)}, not a customer-managed "
                "KMS key (kmsMasterKeyId)",
                bucket.urn,
            )
    for bucket in resources_of(args, GCS_BUCKET):
        if cmk and not dig(bucket.props, "encryption.defaultKmsKeyName"):
            report(
                f"GCS bucket {bucket.name} has no customer-managed key (encryption.defaultKmsKeyName)",
                bucket.urn,
            )
    for account in resources_of(args, STORAGE_ACCOUNT):
        if account.props.get("enableHttpsTrafficOnly") is False:
            report(f"storage account {account.name} accepts plain HTTP", account.urn)
        if account.props.get("minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
            version = account.props.get("minimumTlsVersion") or "the API default"
            report(
                f"storage account {account.name} accepts {version} (minimumTlsVersion below TLS1_2)",
                account.urn,
            )
        if cmk and dig(account.props, "encryption.keySource") != "Microsoft.Keyvault":
            report(f"storage account {account.name} does not use a customer-managed key", account.urn)


def flow_log_accounts(args) -> set[str]:
    """URNs of the storage accounts a VNet flow log writes to (its storageId is computed from
    them): log sinks, not buckets. Flow logs write with the account's keys (learn.microsoft.com/
    azure/network-watcher/vnet-flow-logs-overview, "Self-managed key rotation": rotating the keys
    stops them), so such an account keeps shared keys; it holds logs, not objects anyone writes."""
    logs = list(resources_of(args, FLOW_LOG))
    return {
        account.urn
        for account in resources_of(args, STORAGE_ACCOUNT)
        if any(depends_on(log, "storageId", account) for log in logs)
    }


@stack_rule(
    "bucket-uniform-access",
    family="posture",
    description="Bucket access is governed by IAM alone: no per-object ACLs, no shared keys.",
    remediation="GCS: uniformBucketLevelAccess: true. S3: no acl/grants, object ownership "
    "BucketOwnerEnforced. "
    "Azure: allowSharedKeyAccess: false (Entra ID only; a VNet flow log's own account keeps its keys).",
    severity=Severity.HIGH,
)
def bucket_uniform_access(args, report, config):
    for bucket in resources_of(args, GCS_BUCKET):
        if bucket.props.get("uniformBucketLevelAccess") is not True:
            report("uniformBucketLevelAccess is not true: object ACLs can grant access", bucket.urn)
    for bucket in resources_of(args, *S3_BUCKETS):
        if bucket.props.get("acl") not in (None, "private") or items_of(bucket.props.get("grants")):
            report("the bucket uses ACLs (acl/grants); grant access with IAM and bucket policies", bucket.urn)
    for controls in resources_of(args, S3_OWNERSHIP):
        ownership = dig(controls.props, "rule.objectOwnership")
        if ownership != "BucketOwnerEnforced":
            report(f"object ownership is {ownership}, so object ACLs stay active", controls.urn)
    log_sinks = flow_log_accounts(args)
    for account in resources_of(args, STORAGE_ACCOUNT):
        if account.urn not in log_sinks and account.props.get("allowSharedKeyAccess") is not False:
            report(
                "allowSharedKeyAccess is not false: account keys bypass identity-based access", account.urn
            )


S3_VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
S3_LIFECYCLE = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
MANAGEMENT_POLICY = "azure-native:storage:ManagementPolicy"


def _of_account(resource, account) -> bool:
    """Whether an Azure blob-service or lifecycle resource configures `account`: its accountName
    is computed from it, or (offline, where a name is no dependency) it sits beside it."""
    return depends_on(resource, "accountName", account) or (
        resource.parent is not None
        and account.parent is not None
        and resource.parent.urn == account.parent.urn
    )


def _versioned_buckets(args):
    """(bucket, kind, the resources configuring it) for every bucket the stack versions, and the
    unversioned ones as (bucket, kind, None)."""
    found = []
    for bucket in resources_of(args, GCS_BUCKET):
        versioned = dig(bucket.props, "versioning.enabled") is True
        found.append((bucket, "GCS bucket", [bucket] if versioned else None))
    versionings = list(resources_of(args, *S3_VERSIONING))
    for bucket in resources_of(args, *S3_BUCKETS):
        on = [
            v
            for v in versionings
            if depends_on(v, "bucket", bucket) and dig(v.props, "versioningConfiguration.status") == "Enabled"
        ]
        found.append((bucket, "S3 bucket", on or None))
    services = list(resources_of(args, BLOB_SERVICE))
    log_sinks = flow_log_accounts(args)
    for account in resources_of(args, STORAGE_ACCOUNT):
        if account.urn in log_sinks:
            continue  # the flow log's retention policy is what deletes its blobs
        on = [s for s in services if _of_account(s, account) and s.props.get("isVersioningEnabled") is True]
        found.append((account, "storage account", on or None))
    return found


@stack_rule(
    "bucket-versioning",
    family="posture",
    description="Object storage keeps previous versions of overwritten and deleted objects (GCS versioning, "
    "S3 versioning, Azure blob versioning), so a bad write or a deletion can be undone.",
    remediation="Leave mlplatform: buckets.<name>.versioning at its default (true); old versions expire "
    "after noncurrentRetentionDays.",
    enforcement=ADVISORY,
    severity=Severity.MEDIUM,
)
def bucket_versioning(args, report, config):
    for bucket, kind, versioned in _versioned_buckets(args):
        if versioned is None:
            report(
                f"{kind} {bucket.name} keeps no previous versions: an overwrite or delete is final",
                bucket.urn,
            )


def _expires_noncurrent(args, bucket, kind) -> bool:
    if kind == "GCS bucket":
        return any(
            dig(rule, "action.type") == "Delete"
            and (
                dig(rule, "condition.daysSinceNoncurrentTime") is not None
                or dig(rule, "condition.numNewerVersions") is not None
            )
            for rule in items_of(bucket.props.get("lifecycleRules"))
        )
    if kind == "S3 bucket":
        return any(
            depends_on(lifecycle, "bucket", bucket)
            and any(
                rule.get("status") == "Enabled" and dig(rule, "noncurrentVersionExpiration.noncurrentDays")
                for rule in items_of(lifecycle.props.get("rules"))
            )
            for lifecycle in resources_of(args, *S3_LIFECYCLE)
        )
    return any(
        _of_account(policy, bucket)
        and any(
            rule.get("enabled") is not False and dig(rule, "definition.actions.version.delete")
            for rule in items_of(dig(policy.props, "policy.rules"))
        )
        for policy in resources_of(args, MANAGEMENT_POLICY)
    )


@stack_rule(
    "bucket-noncurrent-versions-expire",
    family="cost",
    description="Versioned object storage deletes previous versions after a while, so old model weights and "
    "datasets do not pile up on the bill.",
    remediation="Keep the platform's lifecycle rule (mlplatform: buckets.<name>.noncurrentRetentionDays): "
    "GCS daysSinceNoncurrentTime, S3 noncurrentVersionExpiration, Azure a management policy deleting "
    "versions.",
    severity=Severity.MEDIUM,
)
def bucket_noncurrent_versions_expire(args, report, config):
    for bucket, kind, versioned in _versioned_buckets(args):
        if versioned is not None and not _expires_noncurrent(args, bucket, kind):
            report(
                f"{kind} {bucket.name} keeps previous versions forever (no lifecycle rule expires them)",
                bucket.urn,
            )
