"""Reports made from a saved run: the JSON journal (the contract outside tools parse), the
terminal summary, the self-contained HTML report and JUnit XML."""

from chaos.reports.html import render_html
from chaos.reports.journal import (SCHEMA, build_journal, iso_utc, read_journal,
                                   validate_journal_shape, write_journal)
from chaos.reports.junit import render_junit, write_junit
from chaos.reports.summary import render_summary

__all__ = ["SCHEMA", "build_journal", "iso_utc", "read_journal", "render_html", "render_junit",
           "render_summary", "validate_journal_shape", "write_journal", "write_junit"]
