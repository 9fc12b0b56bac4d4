from datetime import date

from odoo import api, fields, models
from odoo.exceptions import ValidationError

# Reference rates of the statutory late-payment presets, each fixed for a
# half-year: the rate the run charges is this one plus the company's margin.
REFERENCES = [
    ("ecb", "ECB main refinancing rate (EU late payment directive)"),
    ("boe", "Bank of England base rate (UK Late Payment Act)"),
]


def half_year_start(day):
    """First day of the half-year of `day` (1 January or 1 July)."""
    return date(day.year, 1 if day.month <= 6 else 7, 1)


def half_years(first, last):
    """Starts of the half-years from the one of `first` to the one of `last`."""
    start, end = half_year_start(first), half_year_start(last)
    starts = []
    while start <= end:
        starts.append(start)
        start = date(start.year, 7, 1) if start.month == 1 else date(start.year + 1, 1, 1)
    return starts


class CreditInterestReferenceRate(models.Model):
    """The published reference rate of a half-year (ECB, Bank of England),
    shared by every company whose late interest follows that reference. The
    addon ships the half-years known when it was released; credit managers add
    the next ones (Configuration > Reference Rates): a run that reaches a
    half-year without its rate stops rather than reuse an older one."""

    _name = "credit.interest.reference.rate"
    _inherit = ["credit.guarded.mixin"]
    _description = "Late Interest Reference Rate"
    _order = "reference, date_from desc"
    # Set by credit managers (the access rights).
    _credit_configuration = True

    reference = fields.Selection(selection=REFERENCES, required=True, index=True)
    date_from = fields.Date(string="Half-Year From", required=True, help="1 January or 1 July.")
    rate = fields.Float(
        string="Reference Rate (%)",
        digits=(16, 4),
        required=True,
        help="Annual percentage in force for the half-year; the company's margin is added.",
    )
    source = fields.Char(help="Where the figure was published.")

    _sql_constraints = [
        (
            "half_year_once",
            "UNIQUE(reference, date_from)",
            "A reference has one rate per half-year: change the existing one.",
        ),
    ]

    @api.depends("reference", "date_from")
    def _compute_display_name(self):
        labels = dict(self._fields["reference"]._description_selection(self.env))
        for entry in self:
            entry.display_name = f"{labels.get(entry.reference, '')} {entry.date_from or ''}"

    @api.constrains("date_from", "rate")
    def _check_half_year(self):
        for entry in self:
            if entry.date_from != half_year_start(entry.date_from) or entry.date_from.day != 1:
                raise ValidationError(
                    self.env._(
                        "Half-Year From: a reference rate starts on 1 January or 1 July, "
                        "not on %(date)s.",
                        date=entry.date_from,
                    )
                )
            if not 0 <= entry.rate <= 100:
                raise ValidationError(
                    self.env._(
                        "Reference Rate (%%): enter a rate between 0 and 100 %% a year, "
                        "not %(rate)s.",
                        rate=entry.rate,
                    )
                )

    @api.model
    def _get_table(self, reference):
        """[(date_from, rate)] of a reference, by date."""
        # sudo: shared public figures, read for whoever runs the interest.
        entries = self.sudo().search([("reference", "=", reference)], order="date_from")
        return [(entry.date_from, entry.rate) for entry in entries]

    @api.model
    def _get_missing_half_year(self, reference, first, last):
        """The first half-year from `first` to `last` without a rate of the
        reference, or None."""
        # Shared public figures, read for whoever runs the interest.
        known = {
            entry.date_from
            for entry in self.sudo().search(
                [("reference", "=", reference), ("date_from", "<=", last)]
            )
        }
        return next((start for start in half_years(first, last) if start not in known), None)
