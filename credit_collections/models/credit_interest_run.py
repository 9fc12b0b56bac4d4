import logging

from psycopg2 import errors

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_date

from .credit_guarded_mixin import SYSTEM

RUN_STATES = [
    ("draft", "Preview"),
    ("done", "Invoiced"),
    # Run with nothing to charge: closed, its reason said, nothing invoiced.
    ("nothing", "Nothing to Charge"),
]
# Set by the run itself (a preview, its invoicing, the scheduled action), never
# by hand: writing them would close a run without invoicing it, or reopen one.
RUN_SYSTEM_FIELDS = {
    "state",
    "invoice_ids",
    "scheduled",
    "cursor_partner_id",
    "user_id",
    "stop_reason",
    "stopped_date",
    "nothing_reason",
    "name",
}
# First key of the transaction-level locks an interest run holds on the
# customers it charges (credit.batch.mixin._credit_try_lock_customers): "CCIN".
INTEREST_LOCK_KEY = 0x4343494E

# What a second run meets when another one charged the same days first.
CONCURRENT_ERRORS = (errors.UniqueViolation, errors.SerializationFailure)

_logger = logging.getLogger(__name__)


class CreditInterestRun(models.Model):
    """Late interest of a company up to a date: computed as a preview (accruals
    per customer and item), then invoiced, one invoice per customer and currency.

    Here the record and its actions; what it charges in
    credit_interest_run_items.py, its invoices in credit_interest_run_invoice.py,
    the scheduled action (on credit.batch.mixin) in credit_interest_run_schedule.py.
    """

    _name = "credit.interest.run"
    _inherit = ["mail.thread", "mail.activity.mixin", "credit.guarded.mixin", "credit.batch.mixin"]
    _description = "Late Interest Run"
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    date = fields.Date(
        required=True, default=fields.Date.context_today, help="Interest is charged up to this day."
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    state = fields.Selection(selection=RUN_STATES, default="draft", required=True, tracking=True)
    user_id = fields.Many2one(
        "res.users", string="Run By", default=lambda self: self.env.user, readonly=True, copy=False
    )
    accrual_ids = fields.One2many("credit.interest.accrual", "run_id", string="Charges")
    invoice_ids = fields.Many2many(
        "account.move",
        "credit_interest_run_invoice_rel",
        "run_id",
        "move_id",
        string="Invoices",
        readonly=True,
        copy=False,
        check_company=True,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    scheduled = fields.Boolean(
        readonly=True,
        copy=False,
        help="Run by the scheduled action, a batch of customers per call.",
    )
    cursor_partner_id = fields.Integer(
        readonly=True,
        copy=False,
        help="Last customer charged by a scheduled run in progress: the run's batches "
        "resume after it (credit.batch.mixin, see _credit_batch_next).",
    )
    stop_reason = fields.Text(
        readonly=True, help="Why the run stopped before charging anything (a rate missing)."
    )
    stopped_date = fields.Date(readonly=True)
    nothing_reason = fields.Text(
        string="Nothing to Charge",
        readonly=True,
        copy=False,
        help="Why the run's last computation charged nothing, worked out from the items.",
    )

    def init(self):
        # One scheduled run per company and month, even when two scheduled
        # actions start at the same moment: the second one's insert is refused.
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS credit_interest_run_scheduled_month
                    ON credit_interest_run (company_id, date_trunc('month', date::timestamp))
                 WHERE scheduled
                """
            )
        )

    @api.depends("date")
    def _compute_name(self):
        for run in self:
            run.name = self.env._("Late interest to %(date)s", date=format_date(self.env, run.date))

    @api.constrains("date", "company_id")
    def _check_date(self):
        today = fields.Date.context_today(self)
        for run in self:
            if run.date > today:
                raise ValidationError(self.env._("Date: a run cannot be dated in the future."))
            later = self.search_count(
                [
                    ("company_id", "=", run.company_id.id),
                    ("state", "=", "done"),
                    ("date", ">", run.date),
                    ("id", "!=", run.id),
                ],
                limit=1,
            )
            if later:
                raise ValidationError(
                    self.env._("Date: a run cannot be dated before the last invoiced run.")
                )

    def write(self, vals):
        if not self.env.su:
            if any(run.state != "draft" for run in self):
                raise UserError(self.env._("This run is already invoiced: it cannot be changed."))
        return super().write(vals)

    def _credit_guarded_fields(self):
        return dict.fromkeys(RUN_SYSTEM_FIELDS, SYSTEM)

    def _credit_free_fields(self):
        # What a credit manager sets on a preview; accrual_ids are the run's own
        # records, guarded by credit.interest.accrual.
        return {"date", "company_id", "accrual_ids"}

    def _credit_guard_hint(self):
        return self.env._("Use Compute Preview and Create Invoices.")

    @api.ondelete(at_uninstall=False)
    def _unlink_except_done(self):
        if any(run.state == "done" for run in self):
            raise UserError(
                self.env._("An invoiced run is kept: cancel its invoices to charge again.")
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_compute(self):
        """Compute the preview: what the run would charge, nothing invoiced. A
        preview with nothing to charge says why."""
        self._check_can_run()
        for run in self:
            run._check_draft()
            run._compute_accruals()
        return self._notify_nothing_to_charge()

    def _compute_accruals(self):
        """Replace the run's charges with what it charges now; when that is
        nothing, note why on the run (and in its chatter when the reason is new)."""
        self.ensure_one()
        self.company_id._credit_interest_check_settings()
        # Charges are the run's record (read-only for users): replaced as a whole.
        self.accrual_ids.sudo().unlink()
        if self._stop_if_rate_missing():
            # The stop says why (stop_reason): no other reason stands.
            if self.nothing_reason:
                # The run's own outcome (see RUN_SYSTEM_FIELDS).
                self.sudo().nothing_reason = False
            return
        accruals = (
            self.env["credit.interest.accrual"].sudo().create(self._prepare_accrual_vals_list())
        )
        reason = False if accruals else self._get_nothing_to_charge_reason()
        # The run's own outcome (see RUN_SYSTEM_FIELDS).
        run = self.sudo()
        if reason != run.nothing_reason:
            run.nothing_reason = reason
            if reason:
                run.message_post(body=reason, subtype_xmlid="mail.mt_note")

    def action_invoice(self):
        """Invoice the preview, computed anew, one invoice per customer and
        currency, and close the run; a run with nothing to charge closes as
        "Nothing to Charge" and says why."""
        self._check_can_run()
        for run in self:
            run._check_draft()
            run._compute_accruals()
            if run.stop_reason:
                continue
            if not run.accrual_ids:
                run._close_nothing_to_charge()
                continue
            run._lock_customers()
            try:
                with self.env.cr.savepoint():
                    run._invoice_accruals()
            except CONCURRENT_ERRORS as error:
                raise UserError(
                    self.env._(
                        "Another run charged some of these items at the same moment. Compute "
                        "the preview again: it leaves out what is charged."
                    )
                ) from error
            # The run's own outcome (see RUN_SYSTEM_FIELDS).
            run.sudo().state = "done"
        return self._notify_nothing_to_charge()

    def _close_nothing_to_charge(self):
        """Close the run as "Nothing to Charge", saying why in its chatter."""
        self.ensure_one()
        # The run's own outcome (see RUN_SYSTEM_FIELDS).
        run = self.sudo()
        run.write(
            {
                "state": "nothing",
                "nothing_reason": run.nothing_reason or run._get_nothing_to_charge_reason(),
            }
        )
        run.message_post(
            body=self.env._("Closed without invoices. %(reason)s", reason=run.nothing_reason),
            subtype_xmlid="mail.mt_note",
        )

    def _notify_nothing_to_charge(self):
        """The notification of the runs that have nothing to charge, the form
        reloaded behind it; nothing when every run charges something."""
        reasons = [run.nothing_reason for run in self if run.nothing_reason]
        if not reasons:
            return True
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Nothing to charge"),
                "message": " ".join(reasons),
                "type": "warning",
                "sticky": True,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _check_can_run(self):
        """The run records charges and invoices with elevated rights: only who
        may change the run itself (a credit manager of its company) runs it."""
        self.check_access("write")

    def _stop_for_settings(self, error):
        """Stop today's run of a company whose settings are incomplete, saying
        what to fill in; the scheduled action tries again tomorrow."""
        reason = str(error.args[0]) if error.args else str(error)
        today = fields.Date.context_today(self)
        # The run's own outcome (see RUN_SYSTEM_FIELDS).
        run = self.sudo()
        if run.stop_reason != reason or run.stopped_date != today:
            run.write({"stop_reason": reason, "stopped_date": today})
            run.message_post(body=reason, subtype_xmlid="mail.mt_note")
        _logger.warning("Late interest run of %s stopped: %s", run.company_id.name, reason)

    def _stop_if_rate_missing(self):
        """Stop the run when its company's reference has no rate for a half-year
        it charges, rather than charge it at an older rate: say why on the run
        and ask a credit manager to add the rate. :return: whether it stopped"""
        self.ensure_one()
        company = self.company_id
        missing = company._credit_interest_missing_rate(self.date)
        # The run's own outcome (see RUN_SYSTEM_FIELDS).
        run = self.sudo()
        if not missing:
            if run.stop_reason:
                run.write({"stop_reason": False, "stopped_date": False})
            return False
        labels = dict(company._fields["credit_interest_reference"]._description_selection(self.env))
        reason = self.env._(
            "Nothing was charged: the reference rate %(reference)s has no rate for the "
            "half-year from %(date)s. Add it in Credit & Collections > Configuration > "
            "Reference Rates, then compute the run again (the scheduled action retries "
            "daily).",
            reference=labels[company.credit_interest_reference],
            date=format_date(self.env, missing),
        )
        today = fields.Date.context_today(self)
        if run.stop_reason != reason or run.stopped_date != today:
            run.write({"stop_reason": reason, "stopped_date": today})
            run.message_post(body=reason, subtype_xmlid="mail.mt_note")
        if not run.activity_ids.filtered(
            lambda activity: (
                activity.activity_type_id
                == self.env.ref("credit_collections.mail_activity_interest_rate_missing")
            )
        ):
            for user in self.env["credit.approval.request"]._credit_approvers(company):
                run.activity_schedule(
                    "credit_collections.mail_activity_interest_rate_missing",
                    user_id=user.id,
                    note=reason,
                )
        return True

    def _lock_customers(self):
        """Lock the customers the run invoices, so that no other run charges them
        meanwhile; another one charging some of them now makes this one wait
        for the user to try again (a run invoices all its customers or none).
        A run that read the items before the other one committed is refused by
        the accruals' unique index (see action_invoice)."""
        customers = self.accrual_ids.partner_id
        locked = self.env["credit.batch.mixin"]._credit_try_lock_customers(
            customers, key=INTEREST_LOCK_KEY
        )
        busy = customers - locked
        if busy:
            raise UserError(
                self.env._(
                    "Another run is charging %(customers)s at this moment. Invoice this run "
                    "again in a moment: it leaves out what the other one charges.",
                    customers=", ".join(busy.mapped("display_name")),
                )
            )

    def _check_draft(self):
        if self.state == "nothing":
            raise UserError(
                self.env._(
                    "This run is closed with nothing to charge: create a new run to charge "
                    "what fell due since."
                )
            )
        if self.state != "draft":
            raise UserError(self.env._("This run is already invoiced."))
