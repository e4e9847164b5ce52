"""The declaration enforced: schema.validate at the end of clean and when a processed table is read back."""

import pytest

from cxc_analysis.errors import InputError
from cxc_analysis.processed import read_processed, write_processed


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

