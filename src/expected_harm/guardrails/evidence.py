"""A real guard's published verdicts: Llama Guard 1 on the JailbreakBench artifacts.

JailbreakBench published, for every artifact response, two verdicts on whether the target was
jailbroken: its own judge's (Llama-3-70B) and Llama Guard 1's. Llama Guard there reads the
response, as an output filter would; how often it agrees with the judge shows how a real guard
model of the Llama Guard family behaves on real models' answers, offline. DSN artifacts have no
Llama Guard verdict and are left out.
"""

from __future__ import annotations

import pandas as pd

from expected_harm.stats import bootstrap_binary_agreement, wilson_interval

DATA = "jbb_artifacts (JailbreakBench artifacts, Chao et al. 2024; answered rows)"
JUDGE = "JailbreakBench judge (Llama-3-70B)"
GUARD = "Llama Guard 1 (published verdicts)"


def llama_guard_reference(seed: int = 0) -> pd.DataFrame:
    """Flag rates of the two published verdicts per target, and their Cohen's κ.

    Returns:
        One row per target and one ``all``: ``n`` responses with both verdicts, the share
        each calls jailbroken with a Wilson interval, and κ with a 95% bootstrap interval.
    """
    from expected_harm.datasets import load

    data = load("jbb_artifacts")
    data = data[(data["status"] == "answered") & data["jailbroken"].notna()
                & data["jailbroken_llama_guard1"].notna()]
    out = []
    for target, part in [*data.groupby("target"), ("all", data)]:
        row: dict[str, object] = {"target": target, "n": len(part)}
        for column, name in (("jailbroken", "judge"), ("jailbroken_llama_guard1", "guard")):
            share = wilson_interval(int(part[column].sum()), len(part))
            row |= {name: share.value, f"{name}_low": share.low, f"{name}_high": share.high}
        kappa = bootstrap_binary_agreement(part["jailbroken"].astype(float), {
            "guard": part["jailbroken_llama_guard1"].astype(float)}, seed=seed).loc["guard"]
        row |= {"kappa": kappa["kappa"], "kappa_low": kappa["kappa_low"],
                "kappa_high": kappa["kappa_high"]}
        out.append(row)
    return pd.DataFrame(out).set_index("target")
