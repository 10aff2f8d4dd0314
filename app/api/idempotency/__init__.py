"""Idempotency-Key: claim, run once, store the answer before it leaves, replay it exactly.

The contract (the key's states and what a retry sees in each) is in ``middleware``.
"""
