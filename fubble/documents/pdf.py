"""An invoice document as a PDF (A4), drawn with fpdf2 (pure Python: no system library to install).

The text is set in DejaVu Sans, shipped in ``fonts/`` with its license (a Unicode font: €, ₹, ₩, accented and
Cyrillic or Greek letters all render; fpdf2 embeds only the glyphs used). The same :class:`InvoiceDocument` as the
HTML page: seller and customer, the facts (number, status, dates, period), a table of the lines, the totals. A draft
or void invoice is stamped in red beside its title. The file's creation date is the invoice's last change, so the
same invoice in the same state gives the same document.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from fubble.db.types import to_utc
from fubble.documents.content import InvoiceDocument

FONT = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"
FAMILY = "DejaVu"
MARGIN = 18.0  # mm
LINE = 5.0  # mm, the height of a line of body text
GREY = (110, 110, 110)
BLACK = (34, 34, 34)
RED = (187, 0, 0)
# Characters DejaVu Sans lacks that Babel writes for some locales, drawn as their ordinary forms.
_FALLBACKS = str.maketrans({"\uffe5": "\u00a5", "\uffe6": "\u20a9", "\u2e41": ","})


def render(doc: InvoiceDocument, *, changed_at: datetime) -> bytes:
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=MARGIN)
    pdf.add_font(FAMILY, "", str(FONT))
    pdf.set_title(_text(doc.title))
    if doc.seller:
        pdf.set_author(_text(doc.seller[0]))
    pdf.set_creator("fubble")
    pdf.set_creation_date(to_utc(changed_at))
    pdf.add_page()
    _title(pdf, doc)
    _parties(pdf, doc)
    _facts(pdf, doc)
    _lines(pdf, doc)
    _totals(pdf, doc)
    if doc.notes:
        pdf.ln(LINE)
        _style(pdf, 9, GREY)
        pdf.multi_cell(0, LINE, _text("\n".join(doc.notes)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _text(value: str) -> str:
    return value.translate(_FALLBACKS)


def _style(pdf: FPDF, size: float, color: tuple[int, int, int] = BLACK) -> None:
    pdf.set_font(FAMILY, size=size)
    pdf.set_text_color(*color)


def _title(pdf: FPDF, doc: InvoiceDocument) -> None:
    _style(pdf, 18)
    pdf.cell(0, 10, _text(f"Invoice {doc.number}"), new_x=XPos.LMARGIN, new_y=YPos.TOP)
    if doc.stamp:
        _style(pdf, 18, RED)
        pdf.cell(0, 10, doc.stamp, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        pdf.ln(10)
    pdf.ln(4)


def _parties(pdf: FPDF, doc: InvoiceDocument) -> None:
    half = (pdf.epw - 10) / 2
    top = pdf.get_y()
    bottoms = []
    for x, heading, lines in ((pdf.l_margin, "FROM", doc.seller), (pdf.l_margin + half + 10, "BILL TO", doc.customer)):
        pdf.set_xy(x, top)
        _style(pdf, 8, GREY)
        pdf.cell(half, LINE, heading, new_x=XPos.LEFT, new_y=YPos.NEXT)
        _style(pdf, 10)
        pdf.multi_cell(half, LINE, _text("\n".join(lines)) or "-", new_x=XPos.LEFT, new_y=YPos.NEXT)
        bottoms.append(pdf.get_y())
    pdf.set_xy(pdf.l_margin, max(bottoms) + 6)


def _facts(pdf: FPDF, doc: InvoiceDocument) -> None:
    for label, value in doc.facts:
        _style(pdf, 10, GREY)
        pdf.cell(35, LINE, label)
        _style(pdf, 10)
        pdf.cell(0, LINE, _text(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)


def _lines(pdf: FPDF, doc: InvoiceDocument) -> None:
    _style(pdf, 9)
    headings = FontFace(emphasis="NONE", color=GREY)
    with pdf.table(
        col_widths=(78, 28, 38, 30),
        text_align=(Align.L, Align.R, Align.R, Align.R),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=headings,
        line_height=LINE,
        padding=1.2,
    ) as table:
        table.row(["Description", "Quantity", "Unit price", "Amount"])
        for row in doc.rows:
            table.row([_text(row.description), _text(row.quantity), _text(row.unit_price), _text(row.amount)])
        if not doc.rows:
            table.row(["No lines.", "", "", ""])
    pdf.ln(4)


def _totals(pdf: FPDF, doc: InvoiceDocument) -> None:
    amount_width, label_width = 38.0, 70.0
    left = pdf.l_margin + pdf.epw - amount_width - label_width
    for figure in doc.totals:
        size = 11 if figure.strong else 10
        pdf.set_x(left)
        _style(pdf, size, BLACK if figure.strong else GREY)
        pdf.cell(label_width, LINE + 1, _text(figure.label))
        _style(pdf, size)
        pdf.cell(amount_width, LINE + 1, _text(figure.amount), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
