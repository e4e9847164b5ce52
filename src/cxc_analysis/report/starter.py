"""``cxc-analysis deliverable DIR``: a commented starter for a partnership's deliverable file,
its Markdown sections (D5.1's headings) and an empty promotion log, for the partnership to fill."""

from __future__ import annotations

from pathlib import Path

from cxc_analysis.core.errors import InputError
from cxc_analysis.core.output import write_atomic
from cxc_analysis.read.activities import ACTIVITY_HEADER

# D5.1's chapters, one Markdown file each: (file, headings). `#` is a section, `##` a subsection.
STARTER_SECTIONS = (
    ("01-abstract.md", ["# Abstract"]),
    ("02-executive-summary.md", ["# Executive summary"]),
    ("03-issues-and-problems.md", ["# Issues and problems", "## CXC satisfaction survey"]),
    ("04-digital-promotion.md", ["# Digital promotion", "## Online promotion", "## Promotion via digital events",
                                 "## Promotional events", "## Video"]),
    ("05-next-steps.md", ["# Next steps"]),
)
PLACEHOLDER = "_Write this part of the deliverable here (Markdown: paragraphs, lists, tables, links, images)._"

STARTER_YAML = """\
# The deliverable file: pass it with `cxc-analysis report --deliverable {folder}/deliverable.yaml ...`.
# Every key is optional; an unknown key is an error (exit 2) naming it. Leave a value as ~ to leave it out.
title: ~                      # e.g. "ACRONYM: ClusterXchange KPI report"
deliverable:                  # the document-information block
  grant_agreement: ~
  acronym: ~
  full_title: ~
  project_url: ~
  deliverable_number: ~       # e.g. D5.1
  deliverable_title: ~
  work_package: ~
  contractual_date: ~
  actual_date: ~
  status: ~                   # e.g. Final
  nature: ~                   # e.g. Report
  dissemination_level: ~      # e.g. Public
  authors: ~
  responsible_author: ~
  contributors: ~
  reviewers: ~
funding: ~                    # the funding statement on the cover
disclaimer: ~

# The partnership's own text: Markdown files (relative to this file) in the deliverable's order.
# A plain path comes before the figures. A mapping places a file at the end of a report section:
#   - file: sections/06-lessons.md
#     after: Programme rules          # a report section's heading ("end": after all of them)
# `show:` places the generated sections ("promotion activities", "partners"); by default the
# promotion activities follow the sections before the figures and the partners close the report.
# In the Markdown, `#` is a section (in the contents and the PDF's bookmarks), `##` a subsection;
# images are local files next to the Markdown; raw HTML is shown as text; links: http(s), mailto.
sections:
{sections}
  - show: promotion activities

# The promotion and dissemination log (CSV or xlsx): one activity per row. Kind: online,
# digital event, physical event, video, publication, other (in any of the seven languages).
# Participants: a whole number, or empty; "ca. 30" is reported and not counted.
activities: activities.csv
# activity_targets: {{activities: 10, participants: 100}}   # also per kind: online, digital_event, ...

# The partners, shown at the end as "<ACRONYM> partners".
partners: []
#  - name: ~
#    country: ~
#    description: ~
"""


def starter_files(folder: Path) -> dict[Path, str]:
    """The starter's files (path -> text)."""
    files = {folder / "sections" / name: "\n\n".join([*(f"{h}\n\n{PLACEHOLDER}" for h in headings)]) + "\n"
             for name, headings in STARTER_SECTIONS}
    listed = "\n".join(f"  - sections/{name}" for name, _ in STARTER_SECTIONS)
    files[folder / "deliverable.yaml"] = STARTER_YAML.format(folder=folder.name or ".", sections=listed)
    files[folder / "activities.csv"] = ",".join(ACTIVITY_HEADER) + "\n"
    return files


def write_starter(folder: str | Path, *, replace: bool = False) -> list[Path]:
    """Write the starter into ``folder``; InputError if a file is there already (unless ``replace``)."""
    folder = Path(folder)
    files = starter_files(folder)
    if not replace:
        there = [path for path in files if path.exists()]
        if there:
            raise InputError("already exists; keep your text, or pass --force to replace the starter's files",
                             file=there[0])
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))
    return list(files)
