"""Compute drivers: the hypervisor behind instances (fake by default; QEMU later)."""
