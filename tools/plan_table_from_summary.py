#!/usr/bin/env python3
"""Print the [plan] table that lets `basestation plan` replay the bound a run's pilot measured.

    tools/plan_table_from_summary.py results/RUN/summary.json > plan-table.toml

`serve` with `federation.rank_planning = true` measures the bound's constants around its pilot
round and records each with its source in summary.json's `rank_planning` (docs/optimality-gap.md,
"Estimating the constants"). `basestation plan` has no model and no pilot: it reads these values
from the scenario's [plan] table instead. launch/scenarios/paper.toml's table was made this way.
It replays the bound with the scenario's drawn channels and equal device weights, where a run
uses its channel estimates and its shards' weights, so the two can plan different ranks.
The spectrum is the run's, already scaled by t*: keep `symbol_power` with it (without it, plan
estimates c² from the spectrum, which the scaling inflates by t*²).
"""
import json
import sys

KEYS = ["smoothness", "rank_smoothness", "distortion_smoothness", "pl_constant", "step_size",
        "gradient_variance", "initial_gap"]


def main(path):
    with open(path) as f:
        planning = json.load(f)["rank_planning"]
    constants = planning["constants"]
    lines = ["[plan]"]
    for key in KEYS:
        lines.append(f"# {constants[key]['source']}")
        lines.append(f"{key} = {constants[key]['value']!r}")
    reference = constants.get("distortion_reference_rank", {}).get("value")
    if reference is not None:
        lines.append("# the rank the curvatures were measured at (the distortion's scales as γ(r)² from there)")
        lines.append(f"distortion_reference_rank = {int(reference)}")
    if planning.get("symbol_power") is not None:
        lines.append("# c²: the pilot's largest reported ‖Δ_k‖² per complex symbol")
        lines.append(f"symbol_power = {planning['symbol_power']!r}")
    lines.append(f"# {planning['spectrum_source']}")
    lines.append("pilot_singular_values = [" + ", ".join(f"{v:.6g}" for v in planning["spectrum"]) + "]")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
