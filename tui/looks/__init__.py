"""The look budget: when may the person see charts, and the log of looks (pure).

- `tui.looks.log`: the append-only look log (`Look`, `read_looks`, `append_look`).
- `tui.looks.settings`: `BudgetSettings` (from the config's ``[looks]`` and the flags' values).
- `tui.looks.policy`: `LookBudget`, the controller the app talks to; `GateInfo`, `Alarm`.
- `tui.looks.stats`: `daily_stats` for `tbpeek looks` and the review.
"""
