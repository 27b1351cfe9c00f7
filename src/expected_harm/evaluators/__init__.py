"""Offline evaluators trained on published verdicts and reference labels.

A judge (request + response → jailbroken), a rater (prompt → cost and severity) and a guard
(prompt → harmful), each a linear model on the embedded SmolLM2-135M's hidden states, trained by
``expected-harm evaluators train`` and stored as JSON under ``src/expected_harm/data/evaluators/``.
"""
