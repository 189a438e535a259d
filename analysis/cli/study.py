"""Command-line statistics: ``python -m analysis ratings`` and ``python -m analysis plan``.

``ratings`` answers the AI-versus-human question for a ratings CSV from anywhere,
with the same code as the report (:func:`analysis.stats.system_effects`); ``plan``
finds how many participants and tracks a study needs. Bad input raises
:class:`analysis.errors.InvalidInputError`, which ``python -m analysis`` turns into
exit status 2 with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from analysis.errors import InvalidInputError
from analysis.stats.format import format_df, format_number, format_p
from analysis.stats.mixed import TERMS, system_effects
from analysis.stats.planning import COMPONENTS, components_from_table, plan_study
from analysis.stats.screening import post_screening

#: Columns ``ratings`` needs; any others are ignored.
REQUIRED: Final = (
    "participant",
    "track",
    "genre",
    "condition_kind",
    "system",
    "attribute",
    "score",
)
#: The primary model in lme4 notation, before terms are left out or removed.
PRIMARY_MODEL: Final = (
    "lmer(score ~ system + " + " + ".join(f"(1 | {t})" for t in TERMS) + ", REML = TRUE), "
    "masters only (condition_kind = system); human − AI with Satterthwaite df"
)


def read_ratings(path: Path) -> pd.DataFrame:
    """Read and check a ratings CSV in the export's layout."""
    try:
        # Everything as text, nothing read as missing: "n/a" or an empty score is an
        # error to report, not a rating to drop silently.
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{path}: no such file") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: not a readable CSV ({exc})") from exc
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"{path.name}: missing column(s) {', '.join(missing)}")
    score = pd.to_numeric(frame["score"].str.strip(), errors="coerce")
    bad = frame.loc[~np.isfinite(score.to_numpy(dtype=float)), "score"]
    if len(bad):
        line = int(bad.index[0]) + 2
        raise InvalidInputError(
            f"{path.name}: score {bad.iloc[0]!r} on line {line} is not a number"
        )
    frame["score"] = score.astype(float)
    kinds = frame["condition_kind"] == "system"
    for system in ("ai", "human"):
        if not (kinds & (frame["system"] == system)).any():
            raise InvalidInputError(
                f"{path.name}: no rows with system={system!r} and condition_kind='system'"
            )
    return frame


def _json_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def cmd_ratings(args: argparse.Namespace) -> int:
    """Print the human − AI estimate per attribute."""
    frame = read_ratings(args.ratings)
    excluded: list[str] = []
    n_before = frame["participant"].nunique()
    if args.screening:
        screening = post_screening(frame)
        excluded = [str(p) for p in screening.excluded["participant"]]
        frame = screening.ratings
        if frame.empty:
            raise InvalidInputError("every participant was excluded by post-screening")
    table = system_effects(frame)
    if args.json:
        attributes: dict[str, Any] = {}
        for _, row in table.iterrows():
            attributes[str(row["attribute"])] = {
                "human_minus_ai": {
                    "estimate": _json_number(row["estimate"]),
                    "ci_low": _json_number(row["ci_low"]),
                    "ci_high": _json_number(row["ci_high"]),
                    "df": _json_number(row["df"]),
                    "p": _json_number(row["p"]),
                },
                "n_participants": int(row["n_participants"]),
                "n_tracks": int(row["n_tracks"]),
                "se": _json_number(row["se"]),
                "p_holm": _json_number(row["p_holm"]),
                "n_ratings": int(row["n_obs"]),
                "model": str(row["formula"]),
                "notes": str(row["notes"]),
                "variance": {
                    c.removeprefix("var_"): _json_number(row[c])
                    for c in table.columns
                    if c.startswith("var_") and np.isfinite(row[c])
                },
            }
        out = {
            "model": PRIMARY_MODEL,
            "attributes": attributes,
            "screening": {
                "applied": bool(args.screening),
                "n_before": int(n_before),
                "excluded": excluded,
            },
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"Human − AI per attribute ({PRIMARY_MODEL})")
    if args.screening:
        print(
            f"BS.1534-3 post-screening: {len(excluded)} of {n_before} participants excluded"
            + (f" ({', '.join(excluded)})" if excluded else "")
        )
    for _, row in table.iterrows():
        print()
        print(f"{row['attribute']}")
        print(
            f"  human − AI {format_number(row['estimate'], 2)} points "
            f"(95 % CI {format_number(row['ci_low'], 2)} to {format_number(row['ci_high'], 2)}), "
            f"t({format_df(row['df'])}) = {row['t']:.3f}, p = {format_p(row['p'])} "
            f"(Holm {format_p(row['p_holm'])})"
        )
        print(
            f"  {int(row['n_participants'])} participants, {int(row['n_tracks'])} tracks, "
            f"{int(row['n_obs'])} ratings"
        )
        print(f"  model: {row['formula']}")
        if row["notes"]:
            print(f"  notes: {row['notes']}")
    return 0


def _sizes(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of integers"
        ) from exc
    if not values or min(values) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: give integers ≥ 2")
    return values


def _component(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    if name not in COMPONENTS or not value:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write NAME=SD with NAME one of {', '.join(COMPONENTS)}"
        )
    try:
        sd = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from exc
    if not math.isfinite(sd) or sd < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: an SD must be ≥ 0")
    return name, sd


def cmd_plan(args: argparse.Namespace) -> int:
    """Print the power of candidate designs and the smallest sufficient one."""
    source = "docs/statistics.md (The primary model) defaults"
    sds: dict[str, float] | None = None
    if args.pilot is not None:
        frame = post_screening(read_ratings(args.pilot)).ratings
        table = system_effects(frame, [args.attribute] if args.attribute else None)
        sds = components_from_table(table, args.attribute)
        source = f"estimated from {args.pilot.name} ({table.iloc[0]['attribute']})"
    if args.sd:
        sds = {**(sds or dict.fromkeys(COMPONENTS, 0.0)), **dict(args.sd)}
        source += " with " + ", ".join(f"{k}={v:g}" for k, v in args.sd)
    plan = plan_study(
        args.difference,
        sds,
        participants=args.participants,
        tracks=args.tracks,
        power=args.power,
        alpha=args.alpha,
        simulations=args.simulations,
        simulate=args.simulate,
        seed=args.seed,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "difference": plan.difference,
                    "power": plan.power,
                    "alpha": plan.alpha,
                    "sds": plan.sds,
                    "source": source,
                    "recommended": plan.recommended,
                    "grid": json.loads(plan.grid.to_json(orient="records")),
                },
                indent=2,
            )
        )
        return 0
    print(
        f"Power to detect a human − AI difference of {plan.difference:g} points "
        f"(two-sided α = {plan.alpha:g}); variance components (SDs) {source}:"
    )
    print("  " + ", ".join(f"{k} {v:.2f}" for k, v in plan.sds.items()))
    print(f"{'participants':>12} {'tracks':>6} {'ratings':>8} {'approx.':>8} {'simulated':>14}")
    for _, row in plan.grid.iterrows():
        sim = f"{row['sim_power']:.2f} ± {row['sim_se']:.2f}" if row["simulations"] else ""
        print(
            f"{int(row['participants']):>12} {int(row['tracks']):>6} {int(row['ratings']):>8} "
            f"{row['approx_power']:>8.2f} {sim:>14}"
        )
    if plan.recommended:
        r = plan.recommended
        print(
            f"Smallest design reaching {plan.power:.0%}: {r['participants']} participants × "
            f"{r['tracks']} tracks (simulated power {r['sim_power']:.2f})."
        )
    else:
        print(f"No simulated design reached {plan.power:.0%}: add participants or tracks.")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``ratings`` and ``plan`` on the ``python -m analysis`` parser."""
    p = sub.add_parser(
        "ratings",
        help="human − AI per attribute from a ratings CSV (crossed mixed model)",
        description="Columns needed: " + ", ".join(REQUIRED) + "; others are ignored.",
    )
    p.add_argument("ratings", type=Path, help="ratings CSV in the export's layout")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--no-screening",
        dest="screening",
        action="store_false",
        help=(
            "skip BS.1534-3 post-screening (on by default; a rule whose condition, the"
            " hidden reference or the mid anchor, is absent from the ratings excludes nobody)"
        ),
    )
    p.set_defaults(func=cmd_ratings)

    p = sub.add_parser("plan", help="participants and tracks needed for a target power")
    p.add_argument("--difference", type=float, required=True, help="human − AI to detect")
    p.add_argument("--pilot", type=Path, help="ratings CSV of a pilot study (components)")
    p.add_argument("--attribute", help="attribute of the pilot to use (default: first)")
    p.add_argument("--sd", type=_component, action="append", help="NAME=SD, overrides")
    p.add_argument("--participants", type=_sizes, default=[10, 20, 30, 40, 60, 80, 120])
    p.add_argument("--tracks", type=_sizes, default=[4, 6, 8, 10, 12, 16, 20, 30])
    p.add_argument("--power", type=float, default=0.8)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--simulations", type=int, default=200)
    p.add_argument("--simulate", type=int, default=3, help="designs to confirm by simulation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan)
