"""Probes: the refusal direction, cross-fitted, and how it is chosen.

After repeng's ``control.py`` half: a difference-in-means direction (Arditi et al. 2024) or a
logistic probe on the target's own refusals, each prompt scored by a probe that never saw it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from expected_harm.probing._memory import kept

ProbeKind = Literal["logistic", "diff_in_means"]

#: A refusal judge: (prompts, responses) → 1 refused, 0 complied, None could not tell.
RefusalJudge = Callable[[Sequence[str], Sequence[str]], Sequence[int | None]]


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
    probe having memorised that prompt. The scores are kept on disk (:func:`kept`): the fits
    were the slowest step of a warm probing section (5.6 s of 14).

    Args:
        activations: (n, layers, hidden).
        labels: 1 for the refusal class (refused, or harmful instruction), 0 otherwise.
        kind: Probe type.
        folds: Stratified folds.
        seed: Fold assignment and probe seed.

    Returns:
        (n, layers) probabilities.
    """
    y = np.asarray(labels, dtype=int)
    if activations.ndim != 3 or len(activations) != len(y):
        raise ValueError(f"activations must be (n, layers, hidden) with n = len(labels) = {len(y)},"
                         f" got shape {activations.shape}")
    if min(np.bincount(y, minlength=2)) < folds:
        raise ValueError(f"each class needs at least folds={folds} items, got {np.bincount(y)}")
    return kept(_probe_scores, (make_probe, DiffInMeansProbe), np.asarray(activations), y, kind,
                folds, seed)


def _probe_scores(activations: np.ndarray, y: np.ndarray, kind: ProbeKind, folds: int,
                  seed: int, helpers: str) -> np.ndarray:
    """What :func:`probe_scores` computes, and keeps (``helpers``: :func:`kept`)."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    probe = make_probe(kind, seed)
    scores = np.zeros((len(y), activations.shape[1]))
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(y, y)
    for train, test in splits:
        for layer in range(activations.shape[1]):
            fitted = clone(probe).fit(activations[train, layer], y[train])
            scores[test, layer] = fitted.predict_proba(activations[test, layer])[:, 1]
    return scores


def screen_refusals(responses: Sequence[str]) -> list[bool]:
    """Phrase screen: does each response open like a refusal? For counting, never for labels.

    The ``probing_screen`` list of :mod:`expected_harm.refusals`, looked for in the first 200
    characters, lower-cased, curly apostrophes read as straight ones.
    """
    from expected_harm.refusals import refusal_match

    found = refusal_match(list(responses), "probing_screen", case_sensitive=False, within=200,
                          fold_apostrophes=True)
    return [hit is not None for hit in found]


#: Answer tokens the refusal screen and the refusal labels read. A refusal shows in the opening
#: words: cut to their first 16 tokens, 1,113 of 1,114 greedy 48-token answers of the embedded
#: models (a cold book's cache) got the same refusal verdict. One length for both, so the screen's
#: answers are the labels' own (the same requests, answered once).
ANSWER_TOKENS = 16


def target_responses(prompts: Sequence[str], target: str, *,
                     max_tokens: int = ANSWER_TOKENS) -> list[str | None]:
    """The target's greedy answers through the response cache; None where a call did not succeed."""
    from expected_harm.models import GenerateConfig, generate, get_model, run_settings

    with run_settings(progress=False):
        results = generate(get_model(target), list(prompts), GenerateConfig(max_tokens=max_tokens))
    return [r.text if r.ok else None for r in results]


def refusal_labels(prompts: Sequence[str], target: str, judge: RefusalJudge, *,
                   max_tokens: int = ANSWER_TOKENS) -> list[int | None]:
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
    answers = ([a for a in target_responses(screened_prompts, target)
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
