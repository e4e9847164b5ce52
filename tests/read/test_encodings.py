"""Issue 19: a CSV saved in a legacy code page is read in the code page its bytes prove, or
refused naming the candidates; never read with garbled names.

The names are real places and organisations (their official spellings), written as a partner
would type them; each test tracker is encoded with Python's own codecs."""

import pytest
from conftest import HEADERS, exchange

from cxc_analysis.core.errors import InputError
from cxc_analysis.read.tracker import read_tracker

POLISH = ["Politechnika Łódzka", "Śląski Klaster Lotniczy", "Dolina Lotnicza, Rzeszów", "Wrocław", "Gdańsk",
          "Łódź", "Kraków"]
CZECH = ["Vysoké učení technické v Brně", "Západočeská univerzita v Plzni", "Moravskoslezský automobilový klastr",
         "Plzeň", "České Budějovice", "Třinec"]
HUNGARIAN = ["Budapesti Műszaki és Gazdaságtudományi Egyetem", "Széchenyi István Egyetem", "Győr",
             "Székesfehérvár", "Pécs"]
CROATIAN = ["Sveučilište u Zagrebu", "Varaždin", "Čakovec", "Đakovo"]
WESTERN = ["Technische Universität München", "Universidad de Málaga", "Société Générale", "Köln", "Besançon",
           "Zürich", "Genève", "A Coruña", "Göteborg"]
# Letters every one of the five code pages of the issue holds (German, French, Spanish, Hungarian, Czech).
SHARED = ["Technische Universität München", "Universidad de Málaga", "Université de Franche-Comté", "Besançon",
          "Széchenyi István Egyetem", "Pécs", "Ústí nad Labem", "Hradec Králové", "Düsseldorf", "Köln"]
BULGARIAN = ["София", "Пловдив", "Варна", "Бургас"]
GREEK = ["Αθήνα", "Θεσσαλονίκη", "Πάτρα", "Ηράκλειο"]

# How each code page is named in messages (as Windows and Python document them).
NAMED = {"cp1252": "Windows-1252", "cp1250": "Windows-1250", "iso8859_2": "ISO-8859-2", "mac_roman": "Mac Roman",
         "cp850": "DOS code page 850", "cp852": "DOS code page 852", "cp1251": "Windows-1251",
         "cp1253": "Windows-1253", "cp1257": "Windows-1257"}


def write(path, names, encoding):
    lines = [",".join(HEADERS)] + [",".join(f'"{c}"' if c else "" for c in exchange(name)) for name in names]
    path.write_bytes("\r\n".join(lines).encode(encoding))
    return path


@pytest.mark.parametrize("names,encoding", [
    (POLISH, "cp1250"), (POLISH, "iso8859_2"), (CZECH, "cp1250"), (CZECH, "iso8859_2"), (HUNGARIAN, "cp1250"),
    (HUNGARIAN, "iso8859_2"), (CROATIAN, "cp1250"), (CROATIAN, "iso8859_2"), (WESTERN, "cp1252"),
    (WESTERN, "mac_roman"), (WESTERN, "cp850"), (POLISH, "cp852"), (BULGARIAN, "cp1251"), (GREEK, "cp1253"),
])
def test_a_tracker_in_its_code_page_reads_its_names(tmp_path, names, encoding):
    """The issue's files ("Klaster £ódŸ", "Plzeò", "MŸller", "Soci‚t‚", "M laga" with 0 warnings):
    each read in the code page it was saved in."""
    df = read_tracker(write(tmp_path / "t.csv", names, encoding))
    assert df["visiting_org"].tolist() == names


@pytest.mark.parametrize("encoding", ["cp1250", "iso8859_2", "mac_roman", "cp850", "cp1252"])
def test_one_tracker_in_five_code_pages_reads_as_utf8_or_is_refused_naming_candidates(tmp_path, encoding):
    """The same tracker saved in each code page: its names equal the UTF-8 file's, or the file is
    refused (exit code 2) naming two or more code pages; never other names."""
    expected = read_tracker(write(tmp_path / "utf8.csv", SHARED, "utf-8"))["visiting_org"].tolist()
    assert expected == SHARED
    try:
        names = read_tracker(write(tmp_path / "t.csv", SHARED, encoding))["visiting_org"].tolist()
    except InputError as exc:
        assert sum(name in str(exc) for name in NAMED.values()) >= 2, str(exc)
        assert "UTF-8" in str(exc)
    else:
        assert names == expected


def test_code_pages_that_fit_alike_are_refused_with_both_readings_and_the_row(tmp_path):
    """"København" in Windows-1252 is "Křbenhavn" in Windows-1250: both are letters of real
    alphabets, and nothing else in this file tells which was meant."""
    names = ["Technische Universität München", "Société Générale", "Københavns Universitet"]
    with pytest.raises(InputError) as caught:
        read_tracker(write(tmp_path / "t.csv", names, "cp1252"))
    message = str(caught.value)
    assert "row 4:" in message and "Windows-1252" in message and "Windows-1250" in message
    assert "Københavns" in message and "Křbenhavns" in message and "save the file as UTF-8" in message


def test_the_code_page_is_decided_by_a_word_far_down_the_file(tmp_path):
    """Two MiB of names whose letters Windows-1250 and ISO-8859-2 share, then "Łódź" (whose "ź"
    is a C1 control code in ISO-8859-2 and "Ÿ" in Windows-1252): the late word is judged too."""
    names = [f"Kraków {i}" for i in range(60_000)] + ["Łódź"]
    path = write(tmp_path / "t.csv", names, "cp1250")
    assert path.stat().st_size > 2 << 20
    assert read_tracker(path)["visiting_org"].iloc[-1] == "Łódź"


def test_a_byte_no_code_page_reads_alike_is_refused(tmp_path):
    """Windows-1252 text with a byte Windows-1252 leaves undefined (0x81) and Windows-1250
    garbles ("Müller" then "Ă" and the control code): refused, not read."""
    path = tmp_path / "t.csv"
    path.write_bytes((",".join(HEADERS) + "\r\n,Host,M\xfcller\x81,SME,Inside,,Completed,\r\n").encode("latin-1"))
    with pytest.raises(InputError, match="row 2: cannot decode"):
        read_tracker(path)


@pytest.mark.e2e
def test_cli_annotates_a_windows_1250_tracker_and_refuses_an_undecidable_one_with_exit_2(tmp_path):
    """``clean --annotate`` copies the names as read ("Politechnika Łódzka"); a file two code pages
    read alike exits 2 with one line, no traceback."""
    from conftest import run_cli
    from openpyxl import load_workbook

    source = write(tmp_path / "pl.csv", POLISH, "cp1250")
    done = run_cli("clean", str(source), "--out", str(tmp_path / "out"), "--annotate")
    assert done.returncode == 0, done.stderr
    sheet = load_workbook(tmp_path / "out" / "tracker_annotated.xlsx")["Tracker"]
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)][:len(POLISH)] == POLISH
    tied = write(tmp_path / "dk.csv", ["Société Générale", "Københavns Universitet"], "cp1252")
    refused = run_cli("clean", str(tied), "--out", str(tmp_path / "out2"))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "Windows-1250" in refused.stderr and "Windows-1252" in refused.stderr


@pytest.mark.parametrize("text", ["Universidad de Castilla–La Mancha", "Nº 5, 25 °C, 1 500 €", "«Société Générale»",
                                  "¿Málaga?", "Ñandú S.L., Málaga", "Müller ©", "Città di Torino, è bella",
                                  "Col·legi d’Enginyers"])
def test_western_symbols_and_punctuation_read_in_windows_1252(tmp_path, text):
    """Dashes, quotes, "Nº", "°", "€" and "©" are what Western trackers hold beside their names: a
    Windows-1252 file of them is read, not refused or read as Mac Roman ("—and˙" for "Ñandú")."""
    df = read_tracker(write(tmp_path / "t.csv", [text], "cp1252"))
    assert df["visiting_org"].tolist() == [text]


def test_a_lithuanian_tracker_in_windows_1257_reads_its_names(tmp_path):
    """"Klaipėda" in Windows-1257 is "Klaipëda" in Windows-1252: the Baltic code page is tried too."""
    names = ["Klaipėda", "Šiauliai", "Panevėžys", "Vilniaus Gedimino technikos universitetas"]
    assert read_tracker(write(tmp_path / "t.csv", names, "cp1257"))["visiting_org"].tolist() == names


def test_one_accented_word_proves_no_code_page_but_windows_1252(tmp_path):
    """"Łódź" alone reads well in Windows-1250, but one word is what a stray byte could make too:
    refused with its row, asking for UTF-8; "Société" alone is Windows-1252, Western Excel's own
    ("Zoë" alone is not: it is "Zoė" in Windows-1257, and refused as two readings)."""
    with pytest.raises(InputError, match=r"row 3: cannot decode: the file reads as Windows-1250 .*too few words"):
        read_tracker(write(tmp_path / "pl.csv", ["Plain", "Łódź"], "cp1250"))
    assert read_tracker(write(tmp_path / "w.csv", ["Plain", "Société"], "cp1252"))["visiting_org"].tolist() == [
        "Plain", "Société"]
    with pytest.raises(InputError, match=r'row 3: .*Windows-1252 \(Western European\) \("Zoë"\) or Windows-1257'):
        read_tracker(write(tmp_path / "z.csv", ["Plain", "Zoë"], "cp1252"))
