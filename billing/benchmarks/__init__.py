"""The billing benchmark behind `manage.py benchmark_billing` (issue 3).

Modules: `dataset` builds a large PostgreSQL replica on the server, `runs` times a
billing run against the aggregate SQL it rests on, `pdfs` times invoice rendering
against bare WeasyPrint, `statement` times the W01 annual statement in a child process
(`child`), and `suite` puts them together and prints the report.

Nothing here is imported at start-up: `child` runs before Django is set up, so this
package's `__init__` imports nothing.
"""
