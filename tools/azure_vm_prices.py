"""Write policies/prices_azure_vms.yaml: the on-demand price of every VM size of
stacks/catalogs/aks.yaml in every region of it, from Karpenter for Azure's generated price table.

    venv/bin/python -m tools.azure_vm_prices PATH/zz_generated.pricing.go \\
        --source Azure/karpenter-provider-azure@<commit>:pkg/providers/pricing/zz_generated.pricing.go

The Go file is Karpenter's `initialOnDemandPrices` (region -> ARM SKU name -> USD per hour). Its
generator, as read at Azure/karpenter-provider-azure@2b431da153a6a92b705c18046512c60b1631b682
(hack/code/prices_gen/main.go, pkg/providers/pricing/pricing.go `FetchPricing`, `processPage`,
`categorizePrices`), queries the Azure Retail Prices API (api-version 2023-01-01-preview) with
priceType 'Consumption', currencyCode 'USD', serviceFamily 'Compute', serviceName 'Virtual
Machines' and the region; drops items whose productName ends in " Windows" and whose meterName
ends in " Low Priority"; puts skuName "... Spot" items aside (not written); keeps the rest keyed
by armSkuName, the last one read winning. Re-read it when refreshing from another commit.

Which item wins is arbitrary where several share an armSkuName, and the Windows filter misses
some: in the AMD series (as_v5, ads_v5) the table mixes in Windows prices (see EXCLUDED_SERIES).
So every CPU series is checked for one per-vCPU price per region before anything is written.
Output is deterministic: catalog order, no timestamps beyond the dates given.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

from stacks import aks

OUTPUT = Path(__file__).resolve().parent.parent / "policies" / "prices_azure_vms.yaml"
# Series the source cannot price: per region, some sizes are at the Linux price and others at the
# Linux price plus $0.046 per vCPU-hour (Windows' licence), which is which varying at random
# (checked 2026-12-02 against a second machine-made copy of the same API, SkyPilot's catalog,
# coopslarhette/skypilot-catalog@20291d7eda23e6f420cd9586558cf0bc4051851c:catalogs/v8/azure/vms.csv).
_WINDOWS_MIXED = "source mixes Windows prices (+$0.046/vCPU-hour) into its Linux ones for this series"
EXCLUDED_SERIES: Mapping[str, str] = {
    "Standard_D#as_v5": _WINDOWS_MIXED,
    "Standard_D#ads_v5": _WINDOWS_MIXED,
    "Standard_E#as_v5": _WINDOWS_MIXED,
    "Standard_E#ads_v5": _WINDOWS_MIXED,
}
# Sizes of one series cost the same per vCPU in a region (Azure prices them so); a size further
# than this from the series' cheapest per-vCPU price there means the source took another meter.
PER_VCPU_TOLERANCE = 0.02

_GENERATED_AT = re.compile(r"^// generated at (\S+)$", re.MULTILINE)
_REGION = re.compile(r'^\s*initialOnDemandPrices\["([a-z0-9]+)"\] = map\[string\]float64\{$')
_PRICE = re.compile(r'^\s*"([^"]+)":\s*([0-9.]+),$')


class SourceError(ValueError):
    """The Go file is not the price table expected, or a series' prices disagree."""


def parse(go_source: str) -> tuple[str, dict[str, dict[str, float]]]:
    """(generated-at, region -> SKU -> USD per hour) of a zz_generated.pricing.go."""
    generated_at = _GENERATED_AT.search(go_source)
    if generated_at is None:
        raise SourceError("no '// generated at' line: not Karpenter's zz_generated.pricing.go")
    regions: dict[str, dict[str, float]] = {}
    current: dict[str, float] | None = None
    for line in go_source.splitlines():
        if region := _REGION.match(line):
            current = regions.setdefault(region.group(1), {})
        elif (price := _PRICE.match(line)) and current is not None:
            current[price.group(1)] = float(price.group(2))
    if not regions:
        raise SourceError("no initialOnDemandPrices regions: not Karpenter's zz_generated.pricing.go")
    return generated_at.group(1), regions


def _check_series(region: str, prices: Mapping[str, float]) -> None:
    """Raise if a CPU series of the catalog has sizes at different per-vCPU prices in `region`."""
    per_vcpu: dict[str, dict[str, float]] = {}
    for name, shape in aks.vm_shapes().items():
        if shape.gpus == 0 and name in prices and aks.series(name) not in EXCLUDED_SERIES:
            per_vcpu.setdefault(aks.series(name), {})[name] = prices[name] / shape.vcpu
    for series, sizes in per_vcpu.items():
        cheapest = min(sizes.values())
        odd = sorted(name for name, price in sizes.items() if price > cheapest * (1 + PER_VCPU_TOLERANCE))
        if odd:
            raise SourceError(
                f"{region}: {', '.join(odd)} cost more per vCPU than the rest of {series} "
                "(another meter, e.g. Windows): check the source, then add the series to EXCLUDED_SERIES"
            )


def catalog_prices(regions: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, object]]:
    """The document body: per catalog region, the prices of its catalog sizes and the sizes the
    source lacks (excluded series are left out of both: their reason is in the file)."""
    priced: dict[str, dict[str, float]] = {}
    missing: dict[str, list[str]] = {}
    for region in aks.regions():
        # A zero is no price (a meter without a figure).
        source = {name: price for name, price in regions.get(region, {}).items() if price > 0}
        _check_series(region, source)
        sizes = [name for name in aks.vm_shapes() if aks.series(name) not in EXCLUDED_SERIES]
        priced[region] = {name: source[name] for name in sizes if name in source}
        absent = [name for name in sizes if name not in priced[region]]
        if absent:
            missing[region] = absent
    return {"excludedSeries": dict(EXCLUDED_SERIES), "regions": priced, "missingFromSource": missing}


def render(go_path: str, source: str, read_on: str) -> str:
    generated_at, regions = parse(Path(go_path).read_text())
    header = (
        f"# GENERATED by tools/azure_vm_prices.py on {read_on}: do not edit (policies/prices.yaml wins\n"
        "# over it, and a stack's budget.prices over both). Refresh it as docs/config.md says\n"
        "# ('Refreshing Azure VM prices'):\n"
        "#   venv/bin/python -m tools.azure_vm_prices PATH/zz_generated.pricing.go \\\n"
        "#     --source OWNER/REPO@COMMIT:PATH\n"
        "# Azure on-demand VM prices, USD per VM-hour, Linux, pay-as-you-go, for every VM size of\n"
        "# stacks/catalogs/aks.yaml in every region of it. Machine-made: copied from Karpenter for Azure's\n"
        f"# generated table (its own 'generated at' {generated_at}):\n"
        f"#   {source}\n"
        "# itself a copy of the Azure Retail Prices API: priceType Consumption, USD, serviceName Virtual\n"
        "# Machines, per armRegionName; Windows products, Low Priority and Spot meters dropped; keyed by\n"
        "# armSkuName. A price means the API has a meter there, not that the region has capacity.\n"
        "# missingFromSource: catalog sizes the source has no price for in that region (left unpriced).\n"
        "# excludedSeries: series left out everywhere, with why.\n"
    )
    document = {
        "source": source,
        "sourceGeneratedAt": generated_at,
        "generated": read_on,
        **catalog_prices(regions),
    }
    return header + yaml.safe_dump(document, sort_keys=False, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("go_file", help="Karpenter's pkg/providers/pricing/zz_generated.pricing.go")
    parser.add_argument("--source", required=True, help="where it is from: OWNER/REPO@COMMIT:PATH")
    parser.add_argument("--date", default=datetime.date.today().isoformat(), help="date read (YYYY-MM-DD)")
    parser.add_argument("--output", default=str(OUTPUT), help=f"file to write (default {OUTPUT.name})")
    args = parser.parse_args(argv)
    try:
        text = render(args.go_file, args.source, args.date)
    except (OSError, SourceError) as exc:
        print(f"{args.go_file}: {exc}", file=sys.stderr)
        return 2
    Path(args.output).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
