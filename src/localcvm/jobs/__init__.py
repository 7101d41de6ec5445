"""Durable background work: a job row written in the same transaction as the
state it drives, leased by workers with an expiry, resumed after a crash."""
