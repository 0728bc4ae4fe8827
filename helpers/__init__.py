"""Shared code for the book: sourced catalogs, SymPy formulas, formatting and results."""
