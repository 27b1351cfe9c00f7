"""Hidden states, linear probes and layer sweeps: does a model represent severity, and cost?

Finding 5 of Chen et al. (2026): a refusal probe's activation rises with a request's severity but
not with its execution cost. This module reads residual-stream activations from any causal LM
(the embedded SmolLM2 GGUF, a Hugging Face id or a local folder), caches them on disk, fits probes
layer by layer with cross-fitting, and asks how far severity and cost can be decoded.

Two halves, after repeng's ``extract.py`` / ``control.py`` split:

* extraction: :func:`load_model`, :func:`extract` (batched, padding-safe, cached);
* probes: :func:`probe_scores`, :func:`activation_scores`, :func:`decodability`,
  :func:`text_baseline`, :func:`cost_given_severity`, :func:`choose_probe`.

torch and transformers are imported only inside the functions that need them.

References:
    Arditi et al. (2024), "Refusal in Language Models Is Mediated by a Single Direction".
    Zou et al. (2023), "Representation Engineering: A Top-Down Approach to AI Transparency".
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from expected_harm.paths import cache_dir
from expected_harm.stats import bootstrap_mean

Position = Literal["last", "mean"]
Template = Literal["chat", "none"]
Dtype = Literal["float32", "bfloat16", "float16"]
ProbeKind = Literal["logistic", "diff_in_means"]

DEFAULT_MODEL = "embedded:smollm2-135m"
EMBEDDED_PREFIX = "embedded:"

#: A refusal judge: (prompts, responses) → 1 refused, 0 complied, None could not tell.
RefusalJudge = Callable[[Sequence[str], Sequence[str]], Sequence[int | None]]


# --------------------------------------------------------------------------------- extraction


@dataclass
class HiddenStateModel:
    """A causal LM and its tokenizer, named so that cached activations can be keyed.

    Attributes:
        model: A ``transformers`` causal LM in eval mode.
        tokenizer: Its tokenizer (with a chat template for ``template="chat"``).
        name: The spec it was loaded from, e.g. ``"embedded:smollm2-135m"``.
        revision: Weights version; part of every cache key.
    """

    model: Any
    tokenizer: Any
    name: str
    revision: str

    @property
    def n_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def dtype(self) -> str:
        return str(next(self.model.parameters()).dtype).removeprefix("torch.")


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def embedded_checkpoint(name: str = "smollm2-135m") -> Path:
    """Dequantise an embedded GGUF once into a transformers folder (safetensors) and return it.

    Dequantising the Q4_1 file takes ~10 s; loading the cached safetensors is ~10× faster. The
    folder is keyed by the GGUF package's revision, so a new release converts again.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    from expected_harm.models import embedded_model

    info = embedded_model(name)
    folder = cache_dir() / "hf" / f"{name}-{_digest(info.revision())[:12]}"
    if (folder / "config.json").is_file():
        return folder
    gguf = info.path()
    config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    # transformers' own GGUF path needs `accelerate`; its loader alone does not.
    tensors = load_gguf_checkpoint(str(gguf), return_tensors=True, model_to_load=model)["tensors"]
    model.load_state_dict({k: torch.as_tensor(v) for k, v in tensors.items()}, strict=False)
    model.tie_weights()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    scratch = folder.with_name(folder.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    model.save_pretrained(scratch)
    tokenizer.save_pretrained(scratch)
    scratch.rename(folder)  # atomic: a half-written folder is never mistaken for a checkpoint
    return folder


def load_model(
    spec: str = DEFAULT_MODEL,
    *,
    device: str | None = None,
    dtype: Dtype = "float32",
    revision: str | None = None,
) -> HiddenStateModel:
    """Load a causal LM for hidden-state extraction.

    Args:
        spec: ``"embedded:<name>"`` (the GGUF that ships with the package, offline), a Hugging Face
            id, or a local folder.
        device: ``"cpu"``, ``"cuda"``, ...; CUDA when present, else CPU, if None.
        dtype: Weights and activations dtype.
        revision: Hub revision for a Hugging Face id; recorded in the cache key.

    Returns:
        The model in eval mode on ``device``.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype!r}")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    adapter: Path | None = None
    if spec.startswith(EMBEDDED_PREFIX):
        from expected_harm.models import EMBEDDED_MODELS, embedded_model

        name = spec.removeprefix(EMBEDDED_PREFIX)
        info = embedded_model(name)
        adapter = info.adapter_path()
        if adapter is not None:  # a LoRA on an embedded base: dequantise the base, merge below
            name = next(n for n, m in EMBEDDED_MODELS.items()
                        if m.filename == info.filename and m.adapter is None)
        source: str | Path = embedded_checkpoint(name)
        revision = info.revision()
    elif Path(spec).is_dir():
        source = Path(spec)
        # A local folder has no hub revision: its config and weight sizes stand in for one.
        files = sorted(p for p in source.iterdir() if p.is_file())
        revision = revision or "local:" + _digest(
            (source / "config.json").read_text(), [(p.name, p.stat().st_size) for p in files]
        )[:16]
    else:
        source = spec
    hub_revision = None if isinstance(source, Path) else revision
    tokenizer = AutoTokenizer.from_pretrained(str(source), revision=hub_revision)
    model = AutoModelForCausalLM.from_pretrained(
        str(source), dtype=getattr(torch, dtype), revision=hub_revision
    )
    if adapter is not None:
        from peft import PeftModel

        # The peft weights the GGUF adapter was converted from sit beside it (Hu et al. 2021).
        model = PeftModel.from_pretrained(model, str(adapter.parent)).merge_and_unload()
    model = model.to(device).eval()
    if revision is None:
        revision = getattr(model.config, "_commit_hash", None) or "unknown"
    return HiddenStateModel(model, tokenizer, spec, revision)


def render(tokenizer: Any, prompt: str, template: Template = "chat") -> str:
    """The text the model reads: the prompt as one user turn, ending where the answer would start.

    The last token of this text is where Arditi et al. (2024) read the refusal direction.
    """
    if template == "chat":
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
    if template == "none":
        return prompt
    raise ValueError(f"template must be 'chat' or 'none', got {template!r}")


class ActivationCache:
    """Activations on disk: one ``.npy`` per (model, revision, dtype, template, text, position).

    Keys hold only what changes the vectors: batch size and device do not (the tests check that
    a prompt alone and in a padded batch give the same vectors). Plain arrays, never pickle.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or cache_dir() / "activations"

    @staticmethod
    def key(hsm: HiddenStateModel, text: str, template: Template, position: Position) -> str:
        return _digest(hsm.name, hsm.revision, hsm.dtype, template, text, position)

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        path = self.path(key)
        return np.load(path, allow_pickle=False) if path.is_file() else None

    def put(self, key: str, value: np.ndarray) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".partial.npy")
        np.save(scratch, value, allow_pickle=False)
        scratch.replace(path)


def _forward(hsm: HiddenStateModel, texts: list[str], position: Position,
             add_special_tokens: bool) -> np.ndarray:
    """Residual stream after every block, for one batch: (batch, layers, hidden), float32.

    Pads on the right and reads each prompt's own last real token, so that positions (and thus
    rotary embeddings) match a prompt run alone; causal attention never sees the padding.
    """
    import torch

    tokenizer = hsm.tokenizer
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    device = next(hsm.model.parameters()).device
    batch = tokenizer(texts, return_tensors="pt", padding=True,
                      add_special_tokens=add_special_tokens).to(device)
    with torch.inference_mode():
        # The base model without the LM head: logits over the whole vocabulary for every token
        # would cost more than all the blocks together and are never read here.
        output = hsm.model.base_model(**batch, output_hidden_states=True, use_cache=False)
    # hidden_states[0] is the embedding output, [i] the residual after block i; transformers
    # applies the final norm to the last one, so the last layer is what the unembedding reads.
    states = torch.stack(output.hidden_states[1 : hsm.n_layers + 1], dim=1).float()
    mask = batch["attention_mask"]
    if position == "last":
        last = mask.sum(dim=1) - 1
        picked = states[torch.arange(len(texts), device=device), :, last]
    else:
        weights = (mask / mask.sum(dim=1, keepdim=True))[:, None, :, None].to(states.dtype)
        picked = (states * weights).sum(dim=2)
    return picked.cpu().numpy()


def extract(
    hsm: HiddenStateModel,
    prompts: Sequence[str],
    *,
    position: Position = "last",
    template: Template = "chat",
    batch_size: int = 16,
    cache: ActivationCache | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Residual-stream activations of every prompt at every layer.

    Args:
        hsm: The model.
        prompts: User messages.
        position: ``"last"`` (last prompt token, after the chat template's assistant header) or
            ``"mean"`` (mean over the prompt's tokens).
        template: ``"chat"`` wraps each prompt in the model's chat template; ``"none"`` reads it
            raw.
        batch_size: Prompts per forward pass.
        cache: Where to read and write vectors; ``ActivationCache()`` under ``cache_dir()`` if None.
        progress: Show a progress bar over batches.

    Returns:
        float32 array of shape (len(prompts), n_layers, hidden); layer ``i`` (0-based) is the
        output of block ``i + 1`` (the last one after the final norm, as transformers returns it).
    """
    if position not in ("last", "mean"):
        raise ValueError(f"position must be 'last' or 'mean', got {position!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    cache = cache or ActivationCache()
    texts = [render(hsm.tokenizer, p, template) for p in prompts]
    keys = [ActivationCache.key(hsm, t, template, position) for t in texts]
    found = {k: v for k in dict.fromkeys(keys) if (v := cache.get(k)) is not None}
    missing = [i for i, k in enumerate(keys) if k not in found]
    # Longest first: batches of similar length waste less compute on padding.
    missing.sort(key=lambda i: len(texts[i]), reverse=True)
    starts = range(0, len(missing), batch_size)
    if progress and missing:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="forward passes", unit="batch")
    for start in starts:
        chunk = missing[start : start + batch_size]
        vectors = _forward(hsm, [texts[i] for i in chunk], position, template == "none")
        for i, vector in zip(chunk, vectors):
            cache.put(keys[i], vector)
            found[keys[i]] = vector
    if not keys:
        return np.zeros((0, hsm.n_layers, hsm.model.config.hidden_size), dtype=np.float32)
    return np.stack([found[k] for k in keys])


# -------------------------------------------------------------------------------------- probes


class DiffInMeansProbe(ClassifierMixin, BaseEstimator):
    """Difference-in-means direction (Arditi et al. 2024), read out as a probability.

    The direction is mean(positive) − mean(negative); a one-feature logistic regression on the
    projection onto it turns a score into Pr(positive), so it is comparable with the logistic probe.
    """

    def fit(self, X: np.ndarray, y: np.ndarray) -> DiffInMeansProbe:
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y)
        self.classes_ = np.array([0, 1])
        direction = X[y == 1].mean(axis=0) - X[y == 0].mean(axis=0)
        self.direction_ = direction / (np.linalg.norm(direction) or 1.0)
        self.readout_ = LogisticRegression().fit(self._project(X), y)
        return self

    def _project(self, X: np.ndarray) -> np.ndarray:
        return (X @ self.direction_)[:, None]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.readout_.predict_proba(self._project(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def make_probe(kind: ProbeKind, seed: int = 0) -> BaseEstimator:
    """A fresh probe: standardised L2 logistic regression, or a difference-in-means direction."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000,
                                                                  random_state=seed))
    if kind == "diff_in_means":
        return DiffInMeansProbe()
    raise ValueError(f"probe kind must be 'logistic' or 'diff_in_means', got {kind!r}")


def probe_scores(activations: np.ndarray, labels: Sequence[int], kind: ProbeKind, *,
                 folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold Pr(refusal class) for every item at every layer.

    Cross-fitting keeps a prompt out of the probe that scores it, so a score never rests on the
    probe having memorised that prompt.

    Args:
        activations: (n, layers, hidden).
        labels: 1 for the refusal class (refused, or harmful instruction), 0 otherwise.
        kind: Probe type.
        folds: Stratified folds.
        seed: Fold assignment and probe seed.

    Returns:
        (n, layers) probabilities.
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels, dtype=int)
    if activations.ndim != 3 or len(activations) != len(y):
        raise ValueError(f"activations must be (n, layers, hidden) with n = len(labels) = {len(y)},"
                         f" got shape {activations.shape}")
    if min(np.bincount(y, minlength=2)) < folds:
        raise ValueError(f"each class needs at least folds={folds} items, got {np.bincount(y)}")
    probe = make_probe(kind, seed)
    scores = np.zeros((len(y), activations.shape[1]))
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(y, y)
    for train, test in splits:
        for layer in range(activations.shape[1]):
            fitted = clone(probe).fit(activations[train, layer], y[train])
            scores[test, layer] = fitted.predict_proba(activations[test, layer])[:, 1]
    return scores


def activation_scores(scores: np.ndarray, levels: Sequence[int], *, layers: Sequence[int],
                      seed: int = 0) -> pd.DataFrame:
    """The paper's "activation score": mean probe probability × 100 per level and layer.

    Args:
        scores: (n, layers) probabilities from :func:`probe_scores`.
        levels: The 1–5 label (severity or cost) of each row.
        layers: 1-based layer numbers of the columns of ``scores``.
        seed: Bootstrap seed.

    Returns:
        Tidy frame: ``layer, level, mean, low, high, n`` (95% bootstrap interval).
    """
    levels = np.asarray(levels)
    rows = []
    for column, layer in enumerate(layers):
        for level in np.unique(levels):
            estimate = bootstrap_mean(100 * scores[levels == level, column], seed=seed)
            rows.append({"layer": layer, "level": int(level), "mean": estimate.value,
                         "low": estimate.low, "high": estimate.high, "n": estimate.n})
    return pd.DataFrame(rows)


def _ridge(sparse: bool = False) -> BaseEstimator:
    """Standardised ridge regression, its penalty chosen per target by efficient leave-one-out."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(with_mean=not sparse),
                         RidgeCV(alphas=np.logspace(0, 5, 11), alpha_per_target=True))


def _oof_spearman(estimator: BaseEstimator, features: Any, targets: np.ndarray, folds: int,
                  seed: int) -> np.ndarray:
    """Spearman's ρ between out-of-fold predictions and each column of ``targets`` (n, k).

    All columns share the folds and each fold's fit (a multi-target ridge decomposes the
    training activations once), so a permuted column costs a matrix product, not a refit.
    """
    from scipy.stats import spearmanr
    from sklearn.model_selection import KFold, cross_val_predict

    predicted = cross_val_predict(estimator, features, targets,
                                  cv=KFold(folds, shuffle=True, random_state=seed))
    predicted = predicted.reshape(targets.shape)  # a single target comes back flat
    return np.array([spearmanr(predicted[:, j], targets[:, j]).statistic
                     for j in range(targets.shape[1])])


@dataclass(frozen=True)
class Decodability:
    """How well each layer decodes a label, and a permutation null for the best layer.

    Attributes:
        table: ``layer, spearman, shuffled``: cross-validated ρ per layer, and the mean ρ of the
            same probe on permuted labels at that layer.
        null_max: For each permutation, the highest ρ over all layers. Picking the best of many
            layers inflates its ρ; the best layer is judged against the best layer in noise.
    """

    table: pd.DataFrame
    null_max: np.ndarray

    @property
    def best(self) -> pd.Series:
        """The row of the layer with the highest ρ."""
        return self.table.loc[self.table["spearman"].idxmax()]

    @property
    def p_value(self) -> float:
        """Permutation p-value of the best layer's ρ against the null of the maximum."""
        exceed = int((self.null_max >= self.best["spearman"]).sum())
        return (1 + exceed) / (1 + len(self.null_max))

    @property
    def threshold(self) -> float:
        """95th percentile of the maximum ρ over layers under permuted labels."""
        return float(np.quantile(self.null_max, 0.95))


def decodability(activations: np.ndarray, target: Sequence[float], *, layers: Sequence[int],
                 folds: int = 5, seed: int = 0, permutations: int = 100) -> Decodability:
    """How well a ridge probe decodes an ordinal label from each layer, against permuted labels.

    A ridge regression on standardised activations predicts the 1–5 label; Spearman's ρ between
    out-of-fold predictions and the labels is the score. The null fits the same probe, same folds,
    to ``permutations`` seeded permutations of the labels, one permutation shared by all layers,
    and keeps the maximum over layers of each: the test of the best layer that accounts for its
    being the best (a max-statistic permutation test).

    Raises:
        ValueError: For fewer than 100 permutations (too coarse for a 5% test of a maximum).
    """
    if permutations < 100:
        raise ValueError(f"permutations must be at least 100, got {permutations}")
    y = np.asarray(target, dtype=float)
    rng = np.random.default_rng(seed)
    targets = np.column_stack([y, *(rng.permutation(y) for _ in range(permutations))])
    rho = np.stack([_oof_spearman(_ridge(), activations[:, column], targets, folds, seed)
                    for column in range(len(layers))])  # (layers, 1 + permutations)
    table = pd.DataFrame({"layer": list(layers), "spearman": rho[:, 0],
                          "shuffled": rho[:, 1:].mean(axis=1)})
    # a fold that predicts a constant has no ρ (NaN); the maximum is over the layers that have one
    return Decodability(table, np.nanmax(rho[:, 1:], axis=0))


def text_baseline(texts: Sequence[str], target: Sequence[float], *, folds: int = 5,
                  seed: int = 0) -> float:
    """Spearman's ρ of a bag-of-words ridge probe: how much of a label the words alone give away.

    A layer that decodes no better than this shows a label that is lexically obvious, not one the
    model has had to compute. The vocabulary and its weights are learnt inside each training
    fold, so a word seen only in the held-out prompts tells the probe nothing.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    words = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                          _ridge(sparse=True))
    y = np.asarray(target, dtype=float)[:, None]
    return float(_oof_spearman(words, list(texts), y, folds, seed)[0])


def cost_given_severity(frame: pd.DataFrame, score: str = "score") -> dict[str, Any]:
    """Does cost explain probe scores once severity and the prompt's dataset are known?

    A robust (HC3) Wald test on the cost levels, with severity levels and dataset as fixed
    effects (:func:`expected_harm.stats.factor_wald_test`): sets differ in style as well as in
    cost, and a probe partly reads style. Both labels enter as categories, so a U-shape in cost
    (the paper's bimodality) counts too.

    Returns:
        ``test``, the :class:`~expected_harm.stats.WaldTest` for cost; ``linear``, the fitted
        ``score ~ severity + cost + C(dataset)`` model with numeric labels and HC3 errors, for
        its slopes; ``n``.
    """
    import statsmodels.formula.api as smf

    from expected_harm.stats import factor_wald_test

    data = frame[[score, "severity", "cost", "dataset"]].dropna().rename(columns={score: "score"})
    test = factor_wald_test(data, "score", ["cost"], ["severity", "dataset"])
    dataset = " + C(dataset)" if data["dataset"].nunique() > 1 else ""
    linear = smf.ols(f"score ~ severity + cost{dataset}", data).fit(cov_type="HC3")
    return {"test": test, "linear": linear, "n": len(data)}


# --------------------------------------------------------------- refusals and the probe choice


def screen_refusals(responses: Sequence[str]) -> list[bool]:
    """Phrase screen: does each response open like a refusal? For counting, never for labels.

    The ``probing_screen`` list of :mod:`expected_harm.refusals`, looked for in the first 200
    characters, lower-cased, curly apostrophes read as straight ones.
    """
    from expected_harm.refusals import refusal_match

    found = refusal_match(list(responses), "probing_screen", case_sensitive=False, within=200,
                          fold_apostrophes=True)
    return [hit is not None for hit in found]


def target_responses(prompts: Sequence[str], target: str, *,
                     max_tokens: int = 48) -> list[str | None]:
    """The target's greedy answers through the response cache; None where a call did not succeed."""
    from expected_harm.models import GenerateConfig, generate, get_model

    results = generate(get_model(target), list(prompts), GenerateConfig(max_tokens=max_tokens),
                       progress=False)
    return [r.text if r.ok else None for r in results]


def refusal_labels(prompts: Sequence[str], target: str, judge: RefusalJudge, *,
                   max_tokens: int = 48) -> list[int | None]:
    """The target's own refusals, labelled by a judge: 1 refused, 0 complied, None unknown.

    A failed call stays None: an error is never a refusal (DESIGN: statuses).
    """
    responses = target_responses(prompts, target, max_tokens=max_tokens)
    answered = [i for i, r in enumerate(responses) if r is not None]
    verdicts = judge([prompts[i] for i in answered], [responses[i] for i in answered])
    labels: list[int | None] = [None] * len(prompts)
    for i, verdict in zip(answered, verdicts):
        labels[i] = verdict
    return labels


def resolve_judge(path: str) -> RefusalJudge:
    """A refusal judge named ``"package.module:function"`` (a notebook parameter is a string)."""
    module, _, function = path.partition(":")
    if not module or not function:
        raise ValueError(f"a refusal judge is named 'package.module:function', got {path!r}")
    return getattr(importlib.import_module(module), function)


@dataclass(frozen=True)
class RefusalDirection:
    """Out-of-fold refusal-probe scores, and how the probe was chosen."""

    kind: ProbeKind
    reason: str  # a sentence for the reader
    screened: int  # target answers the phrase screen read
    refused: int  # of which opened like a refusal
    scores: np.ndarray  # (harmful + harmless prompts, layers); NaN where a label is unknown

    @property
    def unlabelled(self) -> int:
        return int(np.isnan(self.scores[:, 0]).sum())


def refusal_direction(
    harmful: np.ndarray,
    harmless: np.ndarray,
    harmful_prompts: Sequence[str],
    harmless_prompts: Sequence[str],
    *,
    probe: ProbeKind | Literal["auto"] = "auto",
    target: str = "",
    refusal_judge: str = "",
    screen: int = 48,
    folds: int = 5,
    seed: int = 0,
) -> RefusalDirection:
    """Screen the target's refusals, pick the probe (:func:`choose_probe`) and cross-fit it.

    Args:
        harmful: Activations (n, layers, hidden) of the harmful prompts, in prompt order.
        harmless: The same for the harmless instructions.
        harmful_prompts: Their text (the target answers them for the screen and the labels).
        harmless_prompts: Their text.
        probe: ``"auto"``, ``"logistic"`` or ``"diff_in_means"``.
        target: Chat spec of the probed model, whose own refusals a logistic probe fits; ``""``
            skips the screen (difference-in-means unless logistic is requested).
        refusal_judge: ``"package.module:function"`` labelling refusals for a logistic probe.
        screen: Harmful prompts whose answers the phrase screen reads.
        folds: Cross-fitting folds.
        seed: Which prompts are screened, folds and probes.
    """
    screened_prompts = (pd.Series(list(harmful_prompts))
                        .sample(min(screen, len(harmful_prompts)), random_state=seed).tolist())
    answers = ([a for a in target_responses(screened_prompts, target, max_tokens=32)
                if a is not None] if target else [])
    refused = sum(screen_refusals(answers))
    kind, reason = choose_probe(probe, refusals=refused, screened=len(answers),
                                judge=bool(refusal_judge))
    if kind == "logistic":
        prompts = [*harmful_prompts, *harmless_prompts]
        y = pd.array(refusal_labels(prompts, target, resolve_judge(refusal_judge)),
                     dtype="Int64")
    else:
        y = pd.array([1] * len(harmful) + [0] * len(harmless), dtype="Int64")
    known = ~np.asarray(y.isna())
    acts = np.concatenate([harmful, harmless])
    scores = np.full((len(y), acts.shape[1]), np.nan)
    scores[known] = probe_scores(acts[known], y[known].to_numpy(dtype=int), kind, folds=folds,
                                 seed=seed)
    return RefusalDirection(kind, reason, len(answers), refused, scores)


def choose_probe(requested: ProbeKind | Literal["auto"], *, refusals: int, screened: int,
                 judge: bool, min_per_class: int = 20) -> tuple[ProbeKind, str]:
    """Pick the probe and say why.

    A logistic probe on the target's own refusals needs a validated judge to label them and
    enough of both classes; otherwise the difference-in-means direction between harmful and
    harmless instructions (Arditi et al. 2024) needs no refusals at all.

    Args:
        requested: ``"logistic"``, ``"diff_in_means"`` or ``"auto"``.
        refusals: Responses the phrase screen flagged.
        screened: Responses screened.
        judge: Whether a validated refusal judge is configured.
        min_per_class: Fewest refusals (and compliances) a logistic probe is fitted on.

    Returns:
        The probe kind and a sentence for the reader.
    """
    if requested not in ("auto", "logistic", "diff_in_means"):
        raise ValueError(f"probe must be 'auto', 'logistic' or 'diff_in_means', got {requested!r}")
    if requested == "diff_in_means":
        return "diff_in_means", "the difference-in-means direction was requested"
    enough = min(refusals, screened - refusals) >= min_per_class
    if requested == "logistic":
        if not judge:
            raise ValueError("probe='logistic' fits on the target's own refusals and needs "
                             "refusal_judge ('package.module:function')")
        return "logistic", "a logistic probe on the target's own refusals was requested"
    if not enough:
        return "diff_in_means", (f"the target refused {refusals} of {screened} screened harmful "
                                 f"prompts, fewer than the {min_per_class} a logistic refusal "
                                 "probe needs, so the direction comes from harmful vs harmless "
                                 "instructions instead")
    if not judge:
        return "diff_in_means", (f"the target refused {refusals} of {screened} screened prompts, "
                                 "but no validated refusal judge is configured to label them")
    return "logistic", (f"the target refused {refusals} of {screened} screened prompts, enough "
                        "for a logistic probe on its own refusals")
