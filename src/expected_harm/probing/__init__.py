"""Hidden states, linear probes and layer sweeps: does a model represent severity, and cost?

Finding 5 of Chen et al. (2026): a refusal probe's activation rises with a request's severity but
not with its execution cost. This package reads residual-stream activations from any causal LM
(the embedded SmolLM2 GGUF, a Hugging Face id or a local folder), caches them on disk, fits probes
layer by layer with cross-fitting, and asks how far severity and cost can be decoded.

In the shape of repeng:

* ``_extract``: :func:`load_model` (weights from :func:`expected_harm.models.load_causal_lm`,
  loaded when first needed), :func:`extract` (batched, padding-safe, cached in
  :class:`ActivationCache`, keyed by prompt);
* ``_probes``: :func:`probe_scores`, :func:`refusal_direction`, :func:`choose_probe`;
* ``_analysis``: :func:`activation_scores`, :func:`decodability`, :func:`text_baseline`,
  :func:`cost_given_severity`;
* ``_section``: the probing page's draws, tables and sentences;
* ``_memory``: :func:`kept`, the fits above kept on disk (joblib).

torch and transformers are imported only inside the functions that need them.

References:
    Arditi et al. (2024), "Refusal in Language Models Is Mediated by a Single Direction".
    Zou et al. (2023), "Representation Engineering: A Top-Down Approach to AI Transparency".
"""

from expected_harm.probing._analysis import (
    Decodability,
    activation_scores,
    cost_given_severity,
    decodability,
    text_baseline,
)
from expected_harm.probing._extract import (
    DEFAULT_MODEL,
    ActivationCache,
    Dtype,
    HiddenStateModel,
    Position,
    Template,
    extract,
    load_model,
    render,
)
from expected_harm.probing._probes import (
    DiffInMeansProbe,
    ProbeKind,
    RefusalDirection,
    RefusalJudge,
    choose_probe,
    make_probe,
    probe_scores,
    refusal_direction,
    refusal_labels,
    resolve_judge,
    screen_refusals,
    target_responses,
)
from expected_harm.probing._section import (
    PROBE_NAMES,
    baseline_direction,
    compare_final,
    comparison_text,
    cost_test_report,
    decodability_readings,
    decodability_summary,
    draw_harmless,
    extract_layers,
    final_layer_table,
    harmless_items,
    labelled_items,
    layer_numbers,
    level_readings,
)

__all__ = [
    "DEFAULT_MODEL",
    "PROBE_NAMES",
    "ActivationCache",
    "Decodability",
    "DiffInMeansProbe",
    "Dtype",
    "HiddenStateModel",
    "Position",
    "ProbeKind",
    "RefusalDirection",
    "RefusalJudge",
    "Template",
    "activation_scores",
    "baseline_direction",
    "choose_probe",
    "compare_final",
    "comparison_text",
    "cost_given_severity",
    "cost_test_report",
    "decodability",
    "decodability_readings",
    "decodability_summary",
    "draw_harmless",
    "extract",
    "extract_layers",
    "final_layer_table",
    "harmless_items",
    "labelled_items",
    "layer_numbers",
    "level_readings",
    "load_model",
    "make_probe",
    "probe_scores",
    "refusal_direction",
    "refusal_labels",
    "resolve_judge",
    "render",
    "screen_refusals",
    "target_responses",
    "text_baseline",
]
