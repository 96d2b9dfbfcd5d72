"""The look budget: when may the person see charts, and the log of looks (pure)."""
