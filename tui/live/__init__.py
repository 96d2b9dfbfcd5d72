"""The live session without Textual: watch strategies, the ingest loop, judging, the look
budget's controller, row and chart models, alerts. The Textual app is a thin adapter over it.
"""
