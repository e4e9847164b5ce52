"""The declaration enforced: schema.validate at the end of clean and when a processed table is read back."""

import pytest

from cxc_analysis.core.errors import InputError
from cxc_analysis.report.processed import read_processed, write_processed


def test_processed_table_is_checked_when_read_back(tmp_path, bundled):
    folder = write_processed(bundled, tmp_path / "p")
    assert read_processed(folder).table.equals(bundled.table)  # as written: accepted
    table = bundled.table
    edits = {"amount_eur": ("amount_eur", table["amount_eur"].astype("str"), "dtype str, declared Float64"),
             "exchange_id": ("exchange_id", table["exchange_id"].where(table["source_row"] != 30, "EG12"),
                             "exchange_id: not of the pattern EG\\d{3}[A-Z]{2}\\d at rows [30]"),
             "status": ("status", table["status"].cat.add_categories("lost"), "status: invalid")}
    for name, (column, values, words) in edits.items():
        if name == "status":
            values = values.where(table["source_row"] != 30, "lost")
        table.assign(**{column: values}).to_parquet(folder / "exchanges.parquet")
        with pytest.raises(InputError) as caught:
            read_processed(folder)
        assert words in str(caught.value) and "exchanges.parquet" in str(caught.value), name



def test_every_table_a_person_reads_takes_its_column_names_from_the_declaration(bundled):
    """Column labels are declared once, beside each field: the workbook's exchange sheet, the
    report's appendix and the findings' fallback names all come from there."""
    from cxc_analysis.core.schema import COLUMN_LABELS, DISPLAY, TABLE
    from cxc_analysis.report.export import exchanges_sheet
    from cxc_analysis.report.sections.present import appendix_html

    assert all(field.label for field in TABLE)
    sheet = exchanges_sheet(bundled.table)
    assert set(sheet.columns) <= set(COLUMN_LABELS.values()) and "VO Type of entity" in sheet.columns
    page = appendix_html(bundled.table)
    assert all(f">{COLUMN_LABELS[c]}<" in page for c in ("exchange_id", "vo_entity_type", "status_text"))
    assert DISPLAY["vo_entity_type"] == COLUMN_LABELS["vo_entity_type"] and DISPLAY["status"] == "Status"
