"""Transcribe the appendix of REMOBILISE D5.1 into the workbook a partner keeps.

This is how ``data/raw/remobilise_d51_exchanges.xlsx`` was made, kept for provenance.
Every row is copied as printed in the report's appendix (47 exchanges), including the
malformed exchange number "EG50WA1" and empty numbers where the report has none.
Re-running it rewrites the raw workbook: do so only to fix a transcription error.

    python tools/make_d51_workbook.py
"""

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

HEADERS = ["Exchange no.", "HO", "VO", "VO Type of entity", "Inside/outside partnership",
           "(Group) exchange", "Status", "Remarks"]

NO_TOOL = "Completed, but without the IT tool"
PARIS, EQUIP, HDF = "Cluster Mission in Paris", "Equip Auto", "Innovation Mission Hauts-de-France"
JEC, BASQUE, BCN = "JEC Paris", "Mission to the Basque Country", "Smart City Expo Barcelona"
WAITING, NO_TOOL_REMARK = "Waiting for Final Activity Report", "Established without IT tool"
ARIA, IAF = "ARIA Hauts-de-France", "Instituto Aragones del Fomento"
MLC = "Basque Mobility and Logistics Cluster, MLC ITS Euskadi"

ROWS = [
    ("", "NextMove", "AGORIA", "cluster organisation", "Inside", PARIS, NO_TOOL, ""),
    ("", "NextMove", "Agricultural ICT Cluster (AgroIT Nonprofit Ltd.)", "cluster organisation", "Inside", PARIS, NO_TOOL, ""),
    ("", "NextMove", "Automobiliski klaster Srbije", "cluster organisation", "Inside", PARIS, NO_TOOL, ""),
    ("", "NextMove", "AVIA Valencia", "cluster organisation", "Inside", PARIS, NO_TOOL, ""),
    ("", "NextMove", "Business Tampere", "cluster organisation", "Inside", PARIS, NO_TOOL, ""),
    ("", "NextMove", "Eastern cluster ICT", "cluster organisation", "Outside", PARIS, NO_TOOL, ""),
    ("", "NextMove", "FME", "cluster organisation", "Inside", PARIS, NO_TOOL, ""),
    ("", "NextMove", "NGO", "cluster organisation", "Outside", PARIS, NO_TOOL, ""),
    ("", "NextMove", "SAMS Norway", "cluster organisation", "Inside", PARIS, NO_TOOL, ""),
    ("", "NextMove", "Strategische Partnerschaft Sensorik e.V.", "cluster organisation", "Inside", PARIS, NO_TOOL, ""),
    ("", "NextMove", "Ukrainian Automotive and Mobility Cluster", "cluster organisation", "Inside", PARIS, NO_TOOL, ""),
    ("", "NextMove", "Axxor", "SME", "Inside", EQUIP, NO_TOOL, ""),
    ("", "NextMove", "Carwei", "SME", "Outside", EQUIP, NO_TOOL, ""),
    ("", "NextMove", "Ganzeboom", "SME", "Outside", EQUIP, NO_TOOL, ""),
    ("", "NextMove", "Inalfa", "large company", "Inside", EQUIP, NO_TOOL, ""),
    ("", "NextMove", "NRF", "large company", "Inside", EQUIP, NO_TOOL, ""),
    ("", "NextMove", "Sekisui Europe B.V.", "large company", "Inside", EQUIP, NO_TOOL, ""),
    ("", "NextMove", "Trescal", "large company", "Inside", EQUIP, NO_TOOL, ""),
    ("", "NextMove", "WK Automotive", "SME", "Inside", EQUIP, NO_TOOL, ""),
    ("", ARIA, "Automotive Campus", "scaling-up support organisation", "Inside", HDF, NO_TOOL, ""),
    ("", ARIA, "Brainport Development", "scaling-up support organisation", "Inside", HDF, NO_TOOL, ""),
    ("", ARIA, "Delft IMP", "SME", "Outside", HDF, NO_TOOL, ""),
    ("", ARIA, "Kalpana Systems B.V.", "SME", "Outside", HDF, NO_TOOL, ""),
    ("", ARIA, "SALD by", "SME", "Outside", HDF, NO_TOOL, ""),
    ("", ARIA, "Sorama B.V.", "SME", "Inside", HDF, NO_TOOL, ""),
    ("", ARIA, "TNO", "public authority", "Inside", HDF, NO_TOOL, ""),
    ("", ARIA, "TU/e", "public authority", "Inside", HDF, NO_TOOL, ""),
    ("EG927FA8", "NextMove", "Aniform", "SME", "Outside", JEC, "Completed", ""),
    ("EG771TA6", "NextMove", "Brightlands Material Centre/TNO", "public authority", "Outside", JEC, "Completed", ""),
    ("EG299XA6", "NextMove", "Cato Composites", "SME", "Outside", JEC, "Completed", ""),
    ("EG900FA3", "NextMove", "CompositesNL", "cluster organisation", "Inside", JEC, "Completed", ""),
    ("EG784VA3", "NextMove", "Donkervoort", "SME", "Inside", JEC, "Completed", ""),
    ("EG877HA3", "NextMove", "DSM", "large company", "Outside", JEC, "Completed", "has not made use of the lump sum"),
    ("EG623SA9", "NextMove", "DTC", "SME", "Outside", JEC, "Completed", ""),
    ("EG398HA2", "NextMove", "Fontijne Presses", "SME", "Outside", JEC, "Completed", ""),
    ("EG784PA8", "NextMove", "Indupol", "SME", "Outside", JEC, "Completed", ""),
    ("EG501FA3", "NextMove", "InHolland", "public authority", "Outside", JEC, "Completed", ""),
    ("EG549YA6", "NextMove", "KVE Composites Group", "SME", "Outside", JEC, "Completed", ""),
    ("EG570BA3", "NextMove", "Plasthill/Oerlemans", "SME", "Outside", JEC, "Completed", ""),
    ("EG50WA1", "NextMove", "Polyworx", "SME", "Outside", JEC, "Completed", ""),
    ("EG630VA0", "NextMove", "TPY", "SME", "Outside", JEC, "Completed", ""),
    ("EG134TA2", MLC, "NextMove", "cluster organisation", "Inside", BASQUE, "Completed", ""),
    ("", IAF, "CIL4Sys Engineering", "SME", "Inside", BCN, WAITING, NO_TOOL_REMARK),
    ("", IAF, "Nextérité", "SME", "Inside", BCN, WAITING, NO_TOOL_REMARK),
    ("", IAF, "UTAC", "large company", "Inside", BCN, WAITING, NO_TOOL_REMARK),
    ("", IAF, "WISP Solutions", "SME", "Inside", BCN, WAITING, NO_TOOL_REMARK),
    ("", IAF, "YoGoKo", "SME", "Inside", BCN, WAITING, NO_TOOL_REMARK),
]


def build(path: Path) -> None:
    wb = Workbook()
    about = wb.active
    about.title = "About"
    about.append(["REMOBILISE (GA 101037876) - ClusterXchange exchanges"])
    about.append(["Source: D5.1 Midterm report on the implementation of (joint) activities "
                  "regarding ClusterXchange, appendix (status M12, January 2023)."])
    ws = wb.create_sheet("Exchanges")
    ws.append(["REMOBILISE - overview of ClusterXchange exchanges (D5.1 appendix)"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(HEADERS)
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for row in ROWS:
        ws.append([value or None for value in row])
    wb.save(path)


if __name__ == "__main__":
    assert len(ROWS) == 47, len(ROWS)
    build(Path(__file__).resolve().parents[1] / "data" / "raw" / "remobilise_d51_exchanges.xlsx")
