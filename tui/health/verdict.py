"""The result type of every health check: `tui.vocab`'s `Severity` and `Verdict`, re-exported
so ``from tui.health.verdict import Severity`` keeps working (the home is `tui.vocab.severity`)."""

from tui.vocab.severity import Severity, Verdict, worst

__all__ = ["Severity", "Verdict", "worst"]
