"""Reports made from a saved run: the JSON journal (the contract outside tools parse) and the
terminal summary."""

from chaos.reports.journal import (SCHEMA, build_journal, iso_utc, read_journal,
                                   validate_journal_shape, write_journal)
from chaos.reports.summary import render_summary

__all__ = ["SCHEMA", "build_journal", "iso_utc", "read_journal", "render_summary",
           "validate_journal_shape", "write_journal"]
