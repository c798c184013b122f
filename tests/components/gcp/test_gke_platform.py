"""GKE platform components, through the resources the dev and prod stacks declare."""

from __future__ import annotations

import json

import yaml

from components.contract import POOL_LABEL
from components.gcp.cluster import gke_kubeconfig
from components.gcp.node_pool import gke_pool_contract
from stacks.clusters import PoolConfig
from stacks.images import catalogued_charts
from tests.helpers import dig, one

NODE_POOL = "gcp:container/nodePool:NodePool"
CLUSTER = "gcp:container/cluster:Cluster"


def test_cluster_is_private_vpc_native_and_hardened(dev_plan, prod_plan):
    dev = one(dev_plan, CLUSTER).inputs
    assert dig(dev, "privateClusterConfig.enablePrivateNodes") is True
    assert dig(dev, "ipAllocationPolicy.clusterSecondaryRangeName") == "pods"
    assert dig(dev, "ipAllocationPolicy.servicesSecondaryRangeName") == "services"
    assert dev["removeDefaultNodePool"] is True
    assert dev["enableShieldedNodes"] is True
    assert dig(dev, "workloadIdentityConfig.workloadPool") == "acme-ml-dev.svc.id.goog"
    assert dig(dev, "gatewayApiConfig.channel") == "CHANNEL_STANDARD"
    assert dev["datapathProvider"] == "ADVANCED_DATAPATH"
    assert dev["enableIntranodeVisibility"] is True
    assert dig(dev, "releaseChannel.channel") == "REGULAR"
    assert dev["location"] == "europe-west4-a" and dev["deletionProtection"] is False
    assert dig(dev, "masterAuthorizedNetworksConfig.cidrBlocks.0.cidrBlock") == "203.0.113.0/24"

    prod = one(prod_plan, CLUSTER).inputs
    assert prod["location"] == "us-central1"
    assert prod["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert prod["deletionProtection"] is True
    assert prod["minMasterVersion"] == "1.35"
    assert dig(prod, "releaseChannel.channel") == "STABLE"


def test_dev_pools_autoscale_and_gpu_pool_is_spot_from_zero(dev_plan):
    pools = {r.name: r.inputs for r in dev_plan.of_type(NODE_POOL)}
    assert set(pools) == {"main-system", "main-gpu-t4"}
    system, gpu = pools["main-system"], pools["main-gpu-t4"]
    assert (dig(system, "autoscaling.totalMinNodeCount"), dig(system, "autoscaling.totalMaxNodeCount")) == (
        1,
        3,
    )
    assert (dig(gpu, "autoscaling.totalMinNodeCount"), dig(gpu, "autoscaling.totalMaxNodeCount")) == (0, 3)
    assert dig(gpu, "nodeConfig.spot") is True
    accelerator = dig(gpu, "nodeConfig.guestAccelerators.0")
    assert (accelerator["type"], accelerator["count"]) == ("nvidia-tesla-t4", 1)
    assert dig(accelerator, "gpuDriverInstallationConfig.gpuDriverVersion") == "LATEST"
    for pool in pools.values():
        assert dig(pool, "nodeConfig.workloadMetadataConfig.mode") == "GKE_METADATA"
        assert dig(pool, "nodeConfig.shieldedInstanceConfig.enableSecureBoot") is True
        assert dig(pool, "nodeConfig.serviceAccount").startswith("dev-main-nodes-")
        assert dig(pool, "nodeConfig.labels")[POOL_LABEL] in ("system", "gpu-t4")
        assert dig(pool, "management.autoRepair") is True


def test_prod_tpu_pool_is_pinned_to_its_zone_and_gpu_pool_scales_from_zero(prod_plan):
    tpu = one(prod_plan, NODE_POOL, "main-tpu-v5e").inputs
    assert dig(tpu, "nodeConfig.machineType") == "ct5lp-hightpu-4t"
    assert tpu["nodeLocations"] == ["us-central1-a"]
    assert dig(tpu, "autoscaling.totalMinNodeCount") == 0
    gpu = one(prod_plan, NODE_POOL, "main-gpu-l4").inputs
    assert dig(gpu, "autoscaling.totalMinNodeCount") == 0
    assert dig(gpu, "upgradeSettings.maxSurge") == 0


def test_network_has_pod_and_service_ranges_router_and_nat(dev_plan):
    subnet = one(dev_plan, "gcp:compute/subnetwork:Subnetwork").inputs
    assert subnet["ipCidrRange"] == "10.10.0.0/20"
    assert {r["rangeName"]: r["ipCidrRange"] for r in subnet["secondaryIpRanges"]} == {
        "pods": "10.16.0.0/14",
        "services": "10.20.0.0/20",
    }
    assert subnet["privateIpGoogleAccess"] is True
    assert one(dev_plan, "gcp:compute/network:Network").inputs["autoCreateSubnetworks"] is False
    nat = one(dev_plan, "gcp:compute/routerNat:RouterNat").inputs
    assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert (
        nat["router"]
        == one(dev_plan, "gcp:compute/router:Router").name + "-" + nat["router"].rsplit("-", 1)[1]
    )


def test_registry_is_immutable_with_cleanup_and_node_pull_access(dev_plan):
    repository = one(dev_plan, "gcp:artifactregistry/repository:Repository").inputs
    assert repository["format"] == "DOCKER"
    assert dig(repository, "dockerConfig.immutableTags") is True
    assert {p["id"]: p["action"] for p in repository["cleanupPolicies"]} == {
        "delete-untagged": "DELETE",
        "keep-recent": "KEEP",
    }
    reader = one(dev_plan, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember").inputs
    assert reader["role"] == "roles/artifactregistry.reader"
    assert reader["member"].startswith("serviceAccount:dev-main-nodes-")


def test_buckets_are_private_uniform_and_versioned_by_default(dev_plan):
    buckets = {r.name: r.inputs for r in dev_plan.of_type("gcp:storage/bucket:Bucket")}
    for bucket in buckets.values():
        assert bucket["uniformBucketLevelAccess"] is True
        assert bucket["publicAccessPrevention"] == "enforced"
        assert bucket["labels"]["cost-center"] == "cc-1042"
    # datasets says nothing about versioning: on by default, old versions deleted after 30 days.
    assert dig(buckets["main-datasets"], "versioning.enabled") is True
    assert buckets["main-datasets"]["lifecycleRules"] == [
        {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 30, "withState": "ARCHIVED"}}
    ]


def test_every_resource_uses_an_explicit_provider(prod_plan):
    providers = {r.urn: r for r in prod_plan.resources if r.is_provider}
    for resource in prod_plan.resources:
        if resource.custom and not resource.is_provider:
            assert resource.provider in providers, resource.urn
            package = resource.type.split(":")[0]
            assert providers[resource.provider].type == f"pulumi:providers:{package}", resource.urn
    gcp = one(prod_plan, "pulumi:providers:gcp").inputs
    assert (gcp["project"], gcp["region"]) == ("acme-ml-prod", "us-central1")
    # Providers receive map-valued settings JSON-encoded, as the engine sends them.
    assert json.loads(gcp["defaultLabels"])["environment"] == "prod"


def test_kubeconfig_authenticates_through_the_gke_plugin():
    document = yaml.safe_load(gke_kubeconfig("main-1234567", "34.1.2.3", "Q0E="))
    user = document["users"][0]["user"]
    assert user["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert document["clusters"][0]["cluster"]["server"] == "https://34.1.2.3"
    assert "token" not in user and "client-key-data" not in user


def test_ci_path_dns_endpoint_is_iam_authorized_and_what_the_kubeconfig_reaches(
    dev_plan, dev_config, plan_of
):
    """ciAccess dnsEndpoint: the DNS endpoint admits external traffic (IAM decides), and the
    provider's and the output's kubeconfig reach it, with no cluster CA (a public certificate)."""
    cluster = one(dev_plan, CLUSTER).inputs
    assert dig(cluster, "controlPlaneEndpointsConfig.dnsEndpointConfig.allowExternalTraffic") is True
    output = dev_plan.outputs["main"]
    assert output["endpoint"].endswith(".europe-west4.gke.goog")
    server = yaml.safe_load(output["kubeconfig"])["clusters"][0]["cluster"]
    assert server == {"server": f"https://{output['endpoint']}"}

    # Without a CI path the IP endpoint (and its CA) stays the way in, and the DNS one is not opened.
    del dev_config["config"]["mlplatform:clusters"]["main"]["ciAccess"]
    plain = plan_of(dev_config)
    assert "controlPlaneEndpointsConfig" not in one(plain, CLUSTER).inputs
    server = yaml.safe_load(plain.outputs["main"]["kubeconfig"])["clusters"][0]["cluster"]
    assert (
        server["server"] == f"https://{plain.outputs['main']['endpoint']}"
        and server["certificate-authority-data"]
    )


def test_pool_contract_targets_gke_labels_and_taints():
    gpu = gke_pool_contract(
        "gpu",
        PoolConfig(
            kind="gpu", machine_type="g2-standard-8", accelerator="nvidia-l4", min=0, max=2, spot=True
        ),
    )
    assert gpu.node_selector == {
        POOL_LABEL: "gpu",
        "cloud.google.com/gke-accelerator": "nvidia-l4",
        "cloud.google.com/gke-spot": "true",
    }
    assert [t.key for t in gpu.tolerations] == ["nvidia.com/gpu"]
    assert (gpu.extended_resource, gpu.resource_per_node) == ("nvidia.com/gpu", 1)

    tpu = gke_pool_contract(
        "tpu", PoolConfig(kind="tpu", machine_type="ct5lp-hightpu-4t", topology="2x2", min=0, max=1)
    )
    assert tpu.node_selector["cloud.google.com/gke-tpu-accelerator"] == "tpu-v5-lite-podslice"
    assert tpu.node_selector["cloud.google.com/gke-tpu-topology"] == "2x2"
    assert tpu.pod_scheduling()["tolerations"] == [
        {"key": "google.com/tpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert (tpu.extended_resource, tpu.resource_per_node) == ("google.com/tpu", 4)

    cpu = gke_pool_contract("system", PoolConfig(kind="cpu", machine_type="e2-standard-4", min=1, max=3))
    assert cpu.pod_scheduling() == {"nodeSelector": {POOL_LABEL: "system"}}


def test_binary_authorization_admits_the_registry_and_the_charts_images_only(prod_plan):
    cluster = one(prod_plan, CLUSTER)
    assert dig(cluster.inputs, "binaryAuthorization.evaluationMode") == "PROJECT_SINGLETON_POLICY_ENFORCE"
    policy = one(prod_plan, "gcp:binaryauthorization/policy:Policy")
    assert policy.inputs["project"] == "acme-ml-prod"
    assert policy.inputs["globalPolicyEvaluationMode"] == "ENABLE"  # Google's system images
    assert policy.inputs["defaultAdmissionRule"]["evaluationMode"] == "ALWAYS_DENY"
    patterns = [p["namePattern"] for p in policy.inputs["admissionWhitelistPatterns"]]
    assert patterns[0] == "us-central1-docker.pkg.dev/acme-ml-prod/prod-models/**"
    assert "nvcr.io/nvidia/k8s/dcgm-exporter*" in patterns
    # GKE's own sidecar for bucket mounts (gke.gcr.io/gcs-fuse-csi-driver-sidecar-mounter).
    assert "gke.gcr.io/*" in patterns
    assert all(p.endswith("*") for p in patterns)
    # The cluster enforces the policy from its first pod.
    assert prod_plan.depends_on(cluster.urn, policy.urn)
    assert prod_plan.of_type("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy") == []


def test_every_chart_installed_on_gke_has_its_images_catalogued(dev_plan, prod_plan):
    # Binary Authorization would refuse the pods of a chart whose images it does not admit.
    for plan in (dev_plan, prod_plan):
        for release in plan.of_type("kubernetes:helm.sh/v3:Release"):
            chart = release.inputs["chart"].rsplit("/", 1)[-1]
            assert f"{chart}@{release.inputs['version']}" in catalogued_charts(), chart
