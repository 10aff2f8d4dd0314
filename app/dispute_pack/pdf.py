"""The evidence pack as a PDF a dispute reviewer can read in two minutes (fpdf2).

Text is set in DejaVu Sans (Latin, Greek, Cyrillic, ...), shipped in ``app/assets/fonts``
with its licence; when the pack holds characters DejaVu lacks (a Chinese scan description, a
Japanese name) Droid Sans Fallback (Apache 2.0) is added for those glyphs only, since loading
it costs half a second. Fonts are subset, so a pack stays small.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import FontFace

from app.carriers import service as carriers
from app.core.actors import Actor
from app.dispute_pack.pack import EvidencePack

FONT = "DejaVu"
_GREY, _GREEN, _RED = (90, 90, 90), (20, 110, 50), (170, 30, 30)


def _font_path(name: str) -> Path:
    return Path(str(resources.files("app.assets").joinpath("fonts").joinpath(name)))


@lru_cache(maxsize=1)
def _dejavu_codepoints() -> frozenset[int]:
    with TTFont(_font_path("DejaVuSans.ttf"), lazy=True) as font:
        return frozenset(font.getBestCmap())


def _needs_fallback(text: str) -> bool:
    covered = _dejavu_codepoints()
    return any(ord(char) not in covered for char in set(text) if char.isprintable())


def _when(value: str | None, *, zone: bool = True) -> str:
    if not value:
        return "-"
    moment = datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
    return f"{moment} UTC" if zone else moment


class _PackPdf(FPDF):
    def __init__(self, title: str, stamp: str) -> None:
        super().__init__(format="A4")
        self.pack_title, self.stamp = title, stamp
        self.set_margins(15, 16, 15)
        self.set_auto_page_break(True, margin=16)
        self.add_font(FONT, "", _font_path("DejaVuSans.ttf"))
        self.add_font(FONT, "B", _font_path("DejaVuSans-Bold.ttf"))

    def header(self) -> None:
        self.set_font(FONT, size=7.5)
        self.set_text_color(*_GREY)
        self.cell(0, 5, self.pack_title, align="L")
        self.ln(7)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7)
        self.set_text_color(*_GREY)
        self.cell(0, 5, f"{self.stamp}    page {self.page_no()}/{{nb}}", align="C")


def render_pdf(pack: EvidencePack) -> bytes:
    incident = pack.incident
    title = f"Dispute evidence pack · {incident['number']} · order {incident['order_id']}"
    stamp = f"Generated {_when(pack.generated_at.isoformat())} by Resolution Tracker"
    pdf = _PackPdf(title, stamp)
    if _needs_fallback(str(pack.as_json())):
        pdf.add_font("Fallback", "", _font_path("DroidSansFallbackFull.ttf"))
        pdf.set_fallback_fonts(["Fallback"], exact_match=False)
    pdf.add_page()
    _cover(pdf, pack)
    _order(pdf, pack)
    _tracking(pdf, pack)
    _resolution(pdf, pack)
    _messages(pdf, pack)
    _evidence(pdf, pack)
    _claims(pdf, pack)
    _timeline(pdf, pack)
    return bytes(pdf.output())


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.h - 45:
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FONT, "B", 11.5)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(180, 180, 180)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(2)
    pdf.set_font(FONT, size=9)


def _pairs(pdf: FPDF, rows: list[tuple[str, Any]]) -> None:
    pdf.set_font(FONT, size=9)
    with pdf.table(
        col_widths=(32, 68),
        first_row_as_headings=False,
        borders_layout="NONE",
        text_align="LEFT",
        line_height=5,
        padding=(0.6, 1),
    ) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label, style=FontFace(color=_GREY))
            row.cell("-" if value in (None, "") else str(value))


def _grid(
    pdf: FPDF, headings: tuple[str, ...], widths: tuple[int, ...], rows: list[list[str]]
) -> None:
    pdf.set_font(FONT, size=7.5)
    with pdf.table(
        col_widths=widths,
        borders_layout="HORIZONTAL_LINES",
        text_align="LEFT",
        line_height=4.2,
        padding=(0.8, 1),
        headings_style=FontFace(emphasis="BOLD", fill_color=(236, 236, 236)),
    ) as table:
        table.row(list(headings))
        for values in rows:
            table.row([value or "-" for value in values])
    pdf.set_font(FONT, size=9)


def _cover(pdf: FPDF, pack: EvidencePack) -> None:
    incident = pack.incident
    pdf.set_font(FONT, "B", 17)
    pdf.cell(0, 10, f"Evidence pack {incident['number']}", new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_font(FONT, size=10)
    pdf.multi_cell(
        0,
        5.5,
        f"{pack.store_name}: {incident['type']} incident on order {incident['order_id']} "
        f"({carriers.carrier_name(incident['carrier'])} {incident['tracking_number']}), opened "
        f"{_when(incident['opened_at'])}; status {incident['status']}"
        + (f", resolution {incident['resolution']}" if incident["resolution"] else "")
        + ".",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    check = pack.verification
    color = _GREEN if check["valid"] else _RED
    verdict = (
        f"Timeline verified: all {check['entries']} entries intact "
        f"(SHA-256 chain, head {check['head_hash']})"
        if check["valid"]
        else f"Timeline NOT intact: entry {check['first_broken_seq']} fails ({check['reason']})"
    )
    pdf.set_draw_color(*color)
    pdf.set_text_color(*color)
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(0, 5.5, verdict, border=1, padding=2, new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, size=8)
    pdf.ln(1)
    pdf.multi_cell(
        0,
        4.2,
        "Each timeline entry holds the SHA-256 of the one before it, so no entry can be "
        "changed, removed or reordered without breaking the chain. Sections: order and "
        "customer; carrier and every tracking scan; resolution; messages with the customer; "
        "evidence files with their SHA-256; carrier claims; the full timeline.",
        new_x="LMARGIN",
        new_y="NEXT",
    )


def _order(pdf: FPDF, pack: EvidencePack) -> None:
    incident, customer = pack.incident, pack.incident["customer"]
    parcel = pack.parcel
    _heading(pdf, "1. Order and customer")
    _pairs(
        pdf,
        [
            ("Order", incident["order_id"]),
            ("Order date", incident["order_date"]),
            ("Declared value", f"{parcel['declared_value']} {parcel['currency']}"
             if parcel["declared_value"] else None),
            ("Customer", customer["name"]),
            ("E-mail", customer["email"]),
            ("Phone", customer["phone"]),
            ("Locale", customer["locale"]),
            ("Ticket", customer["ticket_ref"]),
            ("Customer reported", _when(incident["customer_reported_at"])),
            ("First response", _when(incident["first_response_at"])),
            ("Description", incident["description"]),
        ],
    )  # fmt: skip


def _tracking(pdf: FPDF, pack: EvidencePack) -> None:
    parcel = pack.parcel
    _heading(pdf, "2. Carrier and tracking")
    _pairs(
        pdf,
        [
            ("Carrier", f"{carriers.carrier_name(parcel['carrier'])} ({parcel['carrier']})"),
            ("Tracking number", parcel["tracking_number"]),
            ("Tracking page", parcel["tracking_url"]),
            ("Route", f"{parcel['origin_country'] or '?'} → "
                      f"{parcel['destination_country'] or '?'}"),
            ("Shipped", _when(parcel["shipped_at"])),
            ("Current status", parcel["status"]),
        ],
    )  # fmt: skip
    rows = [
        [
            _when(scan["occurred_at"], zone=False),
            scan["status"].replace("_", " "),
            ", ".join(p for p in (scan["location"]["city"], scan["location"]["country"]) if p),
            scan["description"],
        ]
        for scan in pack.scans
    ]
    pdf.ln(1)
    if rows:
        _grid(
            pdf, ("Time (UTC)", "Status", "Place", "Carrier's description"), (17, 14, 20, 49), rows
        )
    else:
        pdf.cell(0, 5, "No tracking scans were recorded.", new_x="LMARGIN", new_y="NEXT", align="L")


def _resolution(pdf: FPDF, pack: EvidencePack) -> None:
    incident = pack.incident
    _heading(pdf, "3. Resolution")
    comp = incident["compensation"]
    decided = [p for p in pack.proposals if p["status"] in ("approved", "rejected")]
    _pairs(
        pdf,
        [
            ("Status", incident["status"]),
            ("Resolution", incident["resolution"]),
            ("Resolved", _when(incident["resolved_at"])),
            ("Substantiated", {True: "yes", False: "no"}.get(incident["substantiated"])),
            ("Department", incident["responsible_department"]),
            ("Root cause", incident["root_cause"]),
            ("Solution", incident["proposed_solution"]),
            ("Compensation", _compensation(comp)),
            *[
                (f"Proposal {p['seq']}", f"{p['status']} by {_who(p['decided_by'])} "
                 f"{_when(p['decided_at'])}" + (f": {p['decision_reason']}"
                                                 if p["decision_reason"] else ""))
                for p in decided
            ],
            ("Lessons learned", incident["lessons_learned"]),
        ],
    )  # fmt: skip


def _who(actor: dict[str, Any] | None) -> str:
    """A person by name; a key or the service marked as such, so a reviewer tells them apart."""
    if not actor:
        return ""
    return Actor(actor["type"], None, str(actor["name"])).described()


def _compensation(comp: dict[str, Any] | None) -> str | None:
    if not comp:
        return None
    parts = [comp["kind"]]
    if comp["amount"]:
        parts.append(f"{comp['amount']} {comp['currency']}")
    if comp["percent"]:
        parts.append(f"{comp['percent']} %")
    return ", ".join(parts)


def _messages(pdf: FPDF, pack: EvidencePack) -> None:
    _heading(pdf, f"4. Messages with the customer ({len(pack.messages)})")
    if not pack.messages:
        pdf.cell(0, 5, "No messages were recorded.", new_x="LMARGIN", new_y="NEXT", align="L")
    for message in pack.messages:
        arrow = "to the customer" if message["direction"] == "out" else "from the customer"
        pdf.set_font(FONT, "B", 8.5)
        pdf.multi_cell(
            0,
            4.6,
            f"{_when(message['occurred_at'])} · {message['channel']} · {arrow} · "
            f"recorded by {_who(message['actor'])}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font(FONT, size=8.5)
        if message["subject"]:
            pdf.multi_cell(
                0, 4.4, f"Subject: {message['subject']}", new_x="LMARGIN", new_y="NEXT", align="L"
            )
        pdf.set_text_color(40, 40, 40)
        pdf.multi_cell(
            0, 4.2, message["body"], new_x="LMARGIN", new_y="NEXT", align="L", padding=(1, 0, 2, 4)
        )
        pdf.set_text_color(0, 0, 0)


def _evidence(pdf: FPDF, pack: EvidencePack) -> None:
    _heading(pdf, f"5. Evidence files ({len(pack.evidence)})")
    rows = [
        [
            item["file_name"],
            item["kind"],
            f"{item['content_type']}, {item['size_bytes']:,} bytes",
            item["sha256"],
            f"{_when(item['created_at'])}, {_who(item['uploaded_by'])}",
        ]
        for item in pack.evidence
    ]
    if rows:
        _grid(pdf, ("File", "Kind", "Type, size", "SHA-256", "Uploaded"), (20, 9, 17, 33, 21), rows)
    else:
        pdf.cell(0, 5, "No evidence files were uploaded.", new_x="LMARGIN", new_y="NEXT", align="L")


def _claims(pdf: FPDF, pack: EvidencePack) -> None:
    _heading(pdf, f"6. Carrier claims ({len(pack.claims)})")
    rows = [
        [
            f"{c['carrier']} {c['claim_type']}",
            f"{c['amount']} {c['currency']}",
            c["status"] + (f" ({c['carrier_reference']})" if c["carrier_reference"] else ""),
            _when(c["filing_deadline"]),
            " / ".join(
                f"{label} {c[key]}" for label, key in (("approved", "approved_amount"),
                                                       ("paid", "paid_amount")) if c[key]
            ) or (c["decision_reason"] or ""),
        ]
        for c in pack.claims
    ]  # fmt: skip
    if rows:
        _grid(pdf, ("Claim", "Amount", "Status", "File by", "Outcome"), (18, 14, 26, 18, 24), rows)
    else:
        pdf.cell(0, 5, "No carrier claims were made.", new_x="LMARGIN", new_y="NEXT", align="L")


def _timeline(pdf: FPDF, pack: EvidencePack) -> None:
    _heading(pdf, f"7. Timeline ({len(pack.timeline)} entries, oldest first)")
    rows = [
        [
            str(entry["seq"]),
            _when(entry["occurred_at"], zone=False),
            entry["kind"].replace("_", " "),
            _who(entry["actor"]),
            entry["summary"],
            entry["hash"][:10],
        ]
        for entry in pack.timeline
    ]
    _grid(
        pdf,
        ("#", "Time (UTC)", "Entry", "By", "What happened", "Hash"),
        (4, 15, 16, 12, 41, 12),
        rows,
    )
