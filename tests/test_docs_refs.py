"""Every reference to the documentation in the source can be followed from a checkout.

Code comments and docstrings cite the design notes as
``docs/quantile.rst, "Exact finish"``: the page must exist in docs/ and, when a
section is named, the page must have a section with exactly that title. Design
documents outside the repository (the old "spec, section N" citations) must
not be cited at all.
"""
import io
import itertools
import pathlib
import re
import tokenize

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "statoptim"
DOCS = ROOT / "docs"

# docs/PAGE.rst, optionally followed by one or more quoted section titles:
#   docs/ssvd.rst, "Iterations", step 5   |   docs/optim.rst, "A" and "B"
QUOTED = r"(?:\"[^\"\n]+\"|'[^'\n]+')"
CITATION = re.compile(
    rf"docs/(?P<page>[\w./-]+\.rst)(?P<sections>(?:\s*(?:,|and)\s*{QUOTED})*)")
SECTION = re.compile(r"\"([^\"\n]+)\"|'([^'\n]+)'")
# citations of documents that are not part of the repository
FOREIGN = re.compile(
    r"(?i)shared/specs|\bspecs?\.md\b|\bthe\s+spec\b|\bspec's\b"
    r"|\bspec\s*,?\s*(?:section|§|\d|[AB]\b|\w+\.md)")

if not SRC.is_dir() or not DOCS.is_dir():  # an installed package without its checkout
    pytest.skip("needs the source checkout (src/ and docs/)", allow_module_level=True)


def source_files():
    return sorted(p for p in SRC.rglob("*") if p.suffix in (".py", ".pyx", ".pxd", ".h"))


def prose(path):
    """The comments and strings of a source file, joined across wrapped lines."""
    text = path.read_text(encoding="utf-8")
    parts = []
    if path.suffix == ".py":
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.COMMENT, tokenize.STRING):
                parts.append(tok.string)
        text = "\n".join(parts)
    # a citation may wrap: join lines, dropping comment markers at their start
    return re.sub(r"\s*\n\s*(?:#:?|//|\*)?\s*", " ", text)


def section_titles(page):
    """Titles of the sections of a reST page (a line underlined by = - ~ ^ or ")."""
    lines = page.read_text(encoding="utf-8").splitlines()
    titles = set()
    for title, under in itertools.pairwise(lines):
        if (title.strip() and under and len(set(under)) == 1 and under[0] in "=-~^\"'"
                and len(under) >= len(title.rstrip())):
            titles.add(title.strip())
    return titles


def citations():
    found = []
    for path in source_files():
        for match in CITATION.finditer(prose(path)):
            sections = [a or b for a, b in SECTION.findall(match.group("sections"))]
            found.append((path.relative_to(ROOT).as_posix(), match.group("page"), sections))
    return found


CITATIONS = citations()


def test_the_source_cites_the_docs():
    # the design notes moved into docs/: the code refers to them
    assert len(CITATIONS) >= 20, CITATIONS


@pytest.mark.parametrize("where, page, sections", CITATIONS,
                         ids=[f"{w}->{p}" for w, p, _ in CITATIONS])
def test_cited_page_and_section_exist(where, page, sections):
    target = DOCS / page
    assert target.is_file(), f"{where} cites docs/{page}, which does not exist"
    titles = section_titles(target)
    for section in sections:
        assert section in titles, (f"{where} cites section {section!r} of docs/{page}, "
                                   f"which has no such section (it has {sorted(titles)})")


@pytest.mark.parametrize("path", source_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_citation_of_documents_outside_the_repository(path):
    bad = [m.group(0) for m in FOREIGN.finditer(prose(path))]
    assert not bad, f"{path.relative_to(ROOT)} cites documents outside the repository: {bad}"


def test_the_checks_can_fail(tmp_path):
    """The parsers themselves: a missing section and a foreign citation are caught."""
    page = tmp_path / "page.rst"
    page.write_text("Title\n=====\n\nExact finish\n------------\n\ntext\n", encoding="utf-8")
    assert section_titles(page) == {"Title", "Exact finish"}
    text = '# see docs/quantile.rst, "Exact finish" and\n# "Missing one" (spec, section 2.4)'
    source = tmp_path / "mod.pyx"
    source.write_text(text, encoding="utf-8")
    joined = prose(source)
    match = CITATION.search(joined)
    assert [a or b for a, b in SECTION.findall(match.group("sections"))] == [
        "Exact finish", "Missing one"]
    assert FOREIGN.search(joined).group(0) == "spec, section"
    assert not FOREIGN.search("Return (client, cleanup) for a scheduler spec.")
