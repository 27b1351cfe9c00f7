"""The cost-based decomposition attack (section 03) and its evidence on published decompositions."""

# --- D2: published evidence, offline (FRACTURED-SORRY-Bench) ---
from expected_harm.decomposition._published import (
    conversation_rows,
    cost_interaction,
    cost_reading,
    cost_uplift_report,
    rater_agreement,
    rater_report,
    rejudge,
    rejudge_report,
    rejudged_uplift,
    step_cost_frame,
    step_cost_report,
    step_cost_summary,
    step_cost_table,
    step_items,
    uplift_by_cost,
    uplift_report,
    uplift_table,
)

__all__ = [
    # D2: published evidence
    "conversation_rows",
    "cost_interaction",
    "cost_reading",
    "cost_uplift_report",
    "rater_agreement",
    "rater_report",
    "rejudge",
    "rejudge_report",
    "rejudged_uplift",
    "step_cost_frame",
    "step_cost_report",
    "step_cost_summary",
    "step_cost_table",
    "step_items",
    "uplift_by_cost",
    "uplift_report",
    "uplift_table",
]
