"""cxc-analysis: EU ClusterXchange exchange trackers into clean tables, KPIs and reports.

The modules follow the data flow: load -> clean -> rules -> kpis -> charts -> report.
"""

__version__ = "0.1.0"  # the package version (pyproject.toml reads it from here)
