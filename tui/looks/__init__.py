"""The look budget: when may the person see charts, and the log of looks (pure).

- `tui.looks.log`: the append-only look log (`Look`, `read_looks`, `append_look`).
- `tui.looks.settings`: `BudgetSettings`, `add_budget_options` for the watch/demo commands.
- `tui.looks.policy`: `LookBudget`, the controller the app talks to; `GateInfo`, `Alarm`.
- `tui.looks.stats`: `daily_stats` for `tbpeek looks` and the review.
"""
