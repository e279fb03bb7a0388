"""Exercise 2's printed tables: the same text in all five notebooks, equal to the neutral calculation.

Each notebook counts the parameters of its own framework's models; nbval re-runs those cells and
compares them with the stored outputs, and here the stored outputs must equal the table printed
from the layer shapes (d2l_compat/common/variants.py): torchvision's published counts, the book
construction's counts and the multiply-adds. So every framework's models are checked against one
framework-neutral calculation, and the five notebooks against each other.
"""
import pytest

from d2l_compat.common import variants
from notebook_code import CHECK_MARKER, NOTEBOOKS, code_cells
from test_notebook_outputs import output_text

ALL = pytest.mark.parametrize("name", sorted(NOTEBOOKS))


def printed(name, fragment):
    """The stored output of the one checked cell whose code contains `fragment`."""
    cells = [outputs for source, outputs, _ in code_cells(name)
             if source.startswith(CHECK_MARKER) and fragment in source]
    assert len(cells) == 1, f"{name}: {len(cells)} checked cells contain {fragment!r}"
    return output_text(cells[0])


def neutral_table():
    book = {name: variants.resnet_parameters(name, "book") for name in variants.RESNET_VARIANTS}
    return variants.resnet_table(dict(variants.PUBLISHED_PARAMETERS), book) + "\n"


@ALL
def test_table_equals_the_neutral_calculation(name):
    assert printed(name, "resnet_table(") == neutral_table()


def test_the_five_tables_are_one_text():
    tables = {name: printed(name, "resnet_table(") for name in NOTEBOOKS}
    assert len(set(tables.values())) == 1, sorted(tables)


def test_the_table_shows_the_published_counts_and_the_papers_flops():
    table = neutral_table()
    for count in ("11,689,512", "21,797,672", "25,557,032", "44,549,160", "60,192,808"):
        assert table.count(count) == 2  # measured and published columns
    for flops in ("1.814", "3.664", "3.858", "4.089", "7.570", "11.282"):
        assert flops in table


@ALL
def test_the_generic_builder_rebuilds_the_books_resnet18(name):
    expected = variants.resnet_parameters("ResNet-18", "book", in_channels=1, num_classes=10)
    assert printed(name, "print(f'{num_parameters(") == f"{expected:,}\n"
