"""Expected Harm: safety evaluation weighted by severity and by the likelihood of execution.

Reference implementation of Chen, Tam, Wu & Chen, "Expected Harm: Rethinking Safety Evaluation of
(Mis)Aligned LLMs" (arXiv 2602.01600). The notebooks in ``notebooks/`` call this package; so do the
``expected-harm`` command line and the tests.
"""

__version__ = "0.1.0"
