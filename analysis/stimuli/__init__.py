"""Stimulus generation and processing."""
