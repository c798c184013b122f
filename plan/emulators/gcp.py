"""Outputs the Google Cloud provider computes."""

from __future__ import annotations

from typing import Any

from plan.emulators import Emulated, fake_certificate, resource, stable_hex, stable_ip


def _project(r: Emulated) -> str:
    return r.get("project") or r.provider.get("project") or "emulated-project"


def _region(r: Emulated) -> str:
    return r.get("region") or r.provider.get("region") or "us-central1"


@resource("gcp:container/cluster:Cluster")
def _cluster(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    location = r.get("location") or _region(r)
    return {
        "name": name,
        "id": f"projects/{_project(r)}/locations/{location}/clusters/{name}",
        "endpoint": stable_ip(r.urn),
        "masterAuth": {"clusterCaCertificate": fake_certificate(r.urn)},
        "selfLink": f"https://container.googleapis.com/v1/projects/{_project(r)}/locations/{location}/clusters/{name}",
        "masterVersion": r.get("minMasterVersion") or "1.33.5-gke.1000000",
        # GKE always assigns the DNS endpoint (<uid>.<region>.gke.goog), used or not.
        "controlPlaneEndpointsConfig": _dns_endpoint(r, location),
    }


def _dns_endpoint(r: Emulated, location: str) -> dict[str, Any]:
    config = r.get("controlPlaneEndpointsConfig") or {}
    region = location if location.count("-") == 1 else location.rsplit("-", 1)[0]
    dns = {
        **(config.get("dnsEndpointConfig") or {}),
        "endpoint": f"gke-{stable_hex(r.urn, 32)}.{region}.gke.goog",
    }
    return {**config, "dnsEndpointConfig": dns}


@resource("gcp:compute/globalAddress:GlobalAddress")
def _global_address(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    return {
        "name": name,
        "id": f"projects/{_project(r)}/global/addresses/{name}",
        "address": stable_ip(r.urn),
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/{_project(r)}/global/addresses/{name}",
    }


@resource("gcp:container/nodePool:NodePool")
def _node_pool(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    return {
        "name": name,
        "instanceGroupUrls": [
            f"https://www.googleapis.com/compute/v1/projects/{_project(r)}/zones/z/instanceGroupManagers/gke-{name}"
        ],
    }


@resource("gcp:compute/network:Network")
def _network(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    path = f"projects/{_project(r)}/global/networks/{name}"
    return {"name": name, "id": path, "selfLink": f"https://www.googleapis.com/compute/v1/{path}"}


@resource("gcp:compute/subnetwork:Subnetwork")
def _subnetwork(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    path = f"projects/{_project(r)}/regions/{_region(r)}/subnetworks/{name}"
    return {"name": name, "id": path, "selfLink": f"https://www.googleapis.com/compute/v1/{path}"}


@resource("gcp:serviceaccount/account:Account")
def _service_account(r: Emulated) -> dict[str, Any]:
    email = f"{r.get('accountId')}@{_project(r)}.iam.gserviceaccount.com"
    return {
        "email": email,
        "member": f"serviceAccount:{email}",
        "name": f"projects/{_project(r)}/serviceAccounts/{email}",
        "uniqueId": str(int(stable_hex(r.urn, 12), 16)),
    }


@resource("gcp:artifactregistry/repository:Repository")
def _repository(r: Emulated) -> dict[str, Any]:
    path = f"projects/{_project(r)}/locations/{r.get('location')}/repositories/{r.get('repositoryId')}"
    return {"name": r.get("repositoryId"), "id": path}


@resource("gcp:storage/bucket:Bucket")
def _bucket(r: Emulated) -> dict[str, Any]:
    name = r.get("name") or r.autoname
    return {
        "name": name,
        "url": f"gs://{name}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}",
    }


@resource("gcp:certificatemanager/dnsAuthorization:DnsAuthorization")
def _dns_authorization(r: Emulated) -> dict[str, Any]:
    # The CNAME Certificate Manager asks for ("Create a DNS authorization": dnsResourceRecord).
    domain = r.get("domain")
    return {
        "id": f"projects/{_project(r)}/locations/global/dnsAuthorizations/{r.get('name')}",
        "dnsResourceRecords": [
            {
                "name": f"_acme-challenge.{domain}.",
                "type": "CNAME",
                "data": f"{stable_hex(r.urn, 12)}.{r.digest(2)}.authorize.certificatemanager.goog.",
            }
        ],
    }


@resource(
    "gcp:certificatemanager/certificate:Certificate",
    "gcp:certificatemanager/certificateMap:CertificateMap",
)
def _certificate_manager(r: Emulated) -> dict[str, Any]:
    kind = "certificates" if r.typ.endswith(":Certificate") else "certificateMaps"
    return {"id": f"projects/{_project(r)}/locations/global/{kind}/{r.get('name')}"}
