"""Dataset registry: every benchmark and real-world prompt set behind one loader.

Each registered set loads into one tidy pandas schema (``dataset, item_id, prompt, category,
group`` plus the set's own columns). Most sets are prompt sets; the ``model_outputs`` sets
(``jbb_artifacts``, ``fractured_sorry_bench``) hold real models' published answers to known
requests, one row per answer, with a ``status`` and the published verdicts. Files come from the
cache, else the read-only mirror named by ``$EXPECTED_HARM_DATA_MIRROR``, else a pinned download
checked against its sha256.

Examples:
    >>> from expected_harm.datasets import load
    >>> unsafe = load("xstest:unsafe")        # doctest: +SKIP
    >>> len(unsafe)                           # doctest: +SKIP
    200
"""

from expected_harm.datasets._duplicates import (
    drop_duplicate_prompts,
    duplicate_pairs,
    duplicate_report,
    find_duplicates,
    normalise_prompt,
)
from expected_harm.datasets._load import list_datasets, load, load_all, verify
from expected_harm.datasets._registry import (
    REGISTRY,
    Dataset,
    DatasetSpec,
    Subset,
    get_dataset,
    parse_dataset_spec,
    spec_of,
)
from expected_harm.datasets._schema import (
    GROUPS,
    MODEL_OUTPUTS,
    PROMPT_GROUPS,
    SCHEMA_COLUMNS,
    DatasetError,
    Group,
)
from expected_harm.datasets._sources import DataFile
from expected_harm.datasets._summary import (
    artifact_counts,
    citations_markdown,
    conversation_counts,
    decomposition_counts,
    registry_table,
    set_sizes,
)

__all__ = [
    "GROUPS",
    "MODEL_OUTPUTS",
    "PROMPT_GROUPS",
    "REGISTRY",
    "SCHEMA_COLUMNS",
    "DataFile",
    "Dataset",
    "DatasetError",
    "DatasetSpec",
    "Group",
    "Subset",
    "artifact_counts",
    "citations_markdown",
    "conversation_counts",
    "decomposition_counts",
    "drop_duplicate_prompts",
    "duplicate_pairs",
    "duplicate_report",
    "find_duplicates",
    "get_dataset",
    "list_datasets",
    "load",
    "load_all",
    "normalise_prompt",
    "parse_dataset_spec",
    "registry_table",
    "set_sizes",
    "spec_of",
    "verify",
]
