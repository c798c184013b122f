"""The Kubernetes version catalog: what each cloud offers, and the config's checks on it."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from plan.engine import PROJECT_DIR
from stacks import ConfigError, load_stack_file, versions


def test_the_catalog_is_dated_and_every_window_is_ordered():
    assert versions.catalog_checked() == date(2026, 12, 1)
    for cloud in versions.SERVICE:
        releases = versions.kubernetes_releases(cloud)
        assert releases, cloud
        for release in releases.values():
            assert release.released < release.standard_end
            assert release.extended_end is None or release.standard_end < release.extended_end


@pytest.mark.parametrize("cloud", sorted(versions.SERVICE))
def test_each_clouds_default_is_in_standard_support_on_the_check_date(cloud):
    on = versions.catalog_checked()
    default = versions.default_kubernetes_version(cloud, on)
    assert versions.support_phase(versions.kubernetes_release(cloud, default), on) == "standard"


def test_support_phases_follow_the_dates():
    eks_133 = versions.kubernetes_release("aws", "1.33")
    assert versions.support_phase(eks_133, date(2026, 7, 29)) == "standard"
    assert versions.support_phase(eks_133, date(2026, 7, 30)) == "extended"
    assert versions.support_phase(eks_133, date(2027, 7, 30)) == "ended"


def _with_version(dev_config, write_stack, version: str, **gcp):
    cluster = dev_config["config"]["mlplatform:clusters"]["main"]
    cluster["kubernetesVersion"] = version
    cluster["gcp"].update(gcp)
    return write_stack(dev_config)


def test_a_version_past_support_exits_2_naming_the_key(dev_config, write_stack):
    path = _with_version(dev_config, write_stack, "1.33")
    result = subprocess.run(
        [sys.executable, "-m", "plan", "preview", "--config", str(path)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        env={"MLPLATFORM_TODAY": "2026-12-01", "PATH": ""},
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: Pulumi.test.yaml: mlplatform:clusters.main.kubernetesVersion: Kubernetes 1.33 on GKE left "
        "standard support on 2026-08-03; stay on it only by choosing gcp.releaseChannel: EXTENDED; upgrade "
        "to 1.35 or another version in standard support"
    ]


def test_the_extended_channel_keeps_a_version_past_standard_support(dev_config, write_stack):
    path = _with_version(dev_config, write_stack, "1.34", releaseChannel="EXTENDED")
    assert load_stack_file(path).clusters["main"].support_phase == "extended"


def test_a_version_past_every_window_is_refused_even_with_extended_support(
    dev_config, write_stack, monkeypatch
):
    monkeypatch.setenv(versions.TODAY_VARIABLE, "2027-10-01")
    path = _with_version(dev_config, write_stack, "1.34", releaseChannel="EXTENDED")
    with pytest.raises(
        ConfigError, match=r"kubernetesVersion: Kubernetes 1.34 on GKE left support on 2027-09-30"
    ):
        load_stack_file(path)


def test_a_version_not_offered_names_the_offered_ones(dev_config, write_stack):
    with pytest.raises(ConfigError, match=r"GKE offers no Kubernetes 1.40 .*: use one of 1.33, 1.34, 1.35"):
        load_stack_file(_with_version(dev_config, write_stack, "1.40"))


def test_support_ending_within_60_days_is_a_warning(dev_config, write_stack, monkeypatch):
    path = _with_version(dev_config, write_stack, "1.35")
    assert load_stack_file(path).warnings == []
    monkeypatch.setenv(versions.TODAY_VARIABLE, "2027-03-01")
    assert load_stack_file(path).warnings == [
        "mlplatform:clusters.main.kubernetesVersion: Kubernetes 1.35 on GKE leaves standard support on "
        "2027-04-11 (41 days): plan the upgrade"
    ]


def test_a_model_named_like_another_models_variant_is_refused_naming_both(dev_config, write_stack):
    models = dev_config["config"]["mlplatform:models"]
    models["model1-candidate"] = {**models["model2"], "route": {"path": "/other"}}
    with pytest.raises(ConfigError) as error:
        load_stack_file(write_stack(dev_config))
    assert str(error.value) == (
        "Pulumi.test.yaml: mlplatform:models.model1-candidate: names the same resources "
        "('main-model1-candidate') as mlplatform:models.model1.variants.candidate: rename one of them"
    )
