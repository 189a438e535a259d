"""Objective metrics of a master against its mix."""
