from odoo import api, fields, models
from odoo.tools import SQL

from .credit_guarded_mixin import SYSTEM

CREDIT_STATUSES = [
    ("ok", "OK"),
    ("warning", "Warning"),
    ("blocked", "Blocked"),
]

FOLLOWUP_STATUSES = [
    ("no_action", "Nothing Due"),
    ("waiting", "Waiting"),
    ("action_needed", "Action Needed"),
    ("promised", "Promised"),
    ("reconcile", "Credits to Apply"),
    ("paused", "Paused"),
    ("excluded", "Excluded"),
]

# Key of the transaction's stale records in cr.precommit.data: {model name: {ids}}.
STALE_KEY = "credit.customer.state.stale"
# Model name under which (partner id, company id) pairs are noted stale.
PAIRS_KEY = "res.partner/company"
# Key of the guard against a refresh starting inside a refresh.
REFRESHING_KEY = "credit.customer.state.refreshing"

# The follow-up bookkeeping kept by the follow-ups (levels sent, episodes):
# facts, not figures, never recomputed.
BOOKKEEPING_FIELDS = ("followup_level_id", "followup_episode", "followup_last_date")

# The res.partner fields shown from the customer's state: {partner field: state
# column}. What a customer without a state shows is its column's default.
PARTNER_STATUS_FIELDS = {
    "credit_status": "credit_status",
    "credit_over_limit": "over_limit",
    "followup_status": "followup_status",
    "followup_next_action_date": "followup_next_action_date",
}


class CreditCustomerState(models.Model):
    """The credit and follow-up state of one commercial customer in one company,
    stored so that customers are filtered, sorted and grouped on it in SQL.

    Its figures and statuses are derived (credit.exposure and the follow-up
    engine decide them); they are kept current lazily and set-based: the events
    that change them (see credit.customer.state.source) only note which records
    changed during the transaction; at precommit, one query notes their
    customers stale (a row in credit_customer_state_stale); before any search, the stale
    states of the company, and those computed on another day (items fall
    overdue as days pass), are recomputed together in a constant number of
    queries. The follow-up bookkeeping (level, episode, last follow-up) is kept
    here by the follow-ups; res.partner shows it under its historical names.
    """

    _name = "credit.customer.state"
    _inherit = ["credit.guarded.mixin"]
    _description = "Customer Credit State"
    _order = "company_id, partner_id"
    _check_company_auto = True
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one("res.company", required=True, index=True, ondelete="cascade")
    currency_id = fields.Many2one(related="company_id.currency_id")
    state_date = fields.Date(
        string="Computed For",
        help="Day the figures and statuses were computed for; empty: to recompute.",
    )
    credit_status = fields.Selection(CREDIT_STATUSES, default="ok", required=True, index=True)
    over_limit = fields.Boolean(string="Over Credit Limit")
    followup_status = fields.Selection(
        FOLLOWUP_STATUSES,
        string="Follow-up Status",
        default="no_action",
        required=True,
        index=True,
    )
    followup_next_action_date = fields.Date(string="Next Follow-up")
    followup_level_id = fields.Many2one(
        "credit.followup.level",
        string="Follow-up Level",
        ondelete="set null",
        check_company=True,
        help="Highest level reached in the current dunning episode.",
    )
    followup_episode = fields.Integer()
    followup_last_date = fields.Date(string="Last Follow-up")
    oldest_overdue_date = fields.Date(string="Oldest Overdue")
    receivable_amount = fields.Monetary(string="Open Receivables")
    overdue_amount = fields.Monetary(string="Overdue")
    exposure_amount = fields.Monetary(string="Exposure")

    _sql_constraints = [
        (
            "partner_company_unique",
            "UNIQUE(partner_id, company_id)",
            "A customer has one credit state per company.",
        ),
    ]

    def init(self):
        result = super().init()
        # Events note stale customers here, not on the state's row: a row only
        # ever inserted (no unique key) never makes two transactions wait for,
        # or fail on, each other, so that an order confirmed while a follow-up
        # batch writes the same customer's state goes through, and the batch too.
        # No foreign keys: Odoo's partner merge and deletions must not care; the
        # refresh ignores the notes of customers that no longer exist.
        self.env.cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS credit_customer_state_stale (
                    id bigserial PRIMARY KEY,
                    partner_id integer NOT NULL,
                    company_id integer NOT NULL
                );
                CREATE INDEX IF NOT EXISTS credit_customer_state_stale_company_idx
                    ON credit_customer_state_stale (company_id)
                """
            )
        )
        return result

    def _credit_guarded_fields(self):
        """Everything here is computed or kept by the follow-ups: never by hand."""
        return {
            **super()._credit_guarded_fields(),
            **{
                name: SYSTEM
                for name, field in self._fields.items()
                if field.store and field.name not in models.MAGIC_COLUMNS
            },
        }

    def _credit_guard_hint(self):
        return self.env._(
            "Customer states are computed from the invoices, orders and follow-ups: change "
            "those instead."
        )

    # ------------------------------------------------------------------
    # Searches: recompute what is stale first
    # ------------------------------------------------------------------

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None, **kwargs):
        # Not for a search by id alone (what fetch does to read records it
        # holds, e.g. the company check of a write in the middle of a run): which
        # states are found does not depend on their figures.
        by_id_only = len(domain) == 1 and tuple(domain[0])[:1] == ("id",)
        if not by_id_only:
            self._credit_refresh(self.env.companies)
        return super()._search(domain, offset=offset, limit=limit, order=order, **kwargs)

    @api.model
    def _credit_subquery(self, company, condition):
        """SQL selecting the commercial customers whose state in company meets
        condition (on the alias ``state``), fresh: what res.partner's searches
        on its status fields are."""
        self._credit_refresh(company)
        return SQL(
            "(SELECT state.partner_id FROM credit_customer_state state "
            "WHERE state.company_id = %s AND %s)",
            company.id,
            condition,
        )

    # ------------------------------------------------------------------
    # Events: which customers are stale
    # ------------------------------------------------------------------

    @api.model
    def _credit_mark_stale(self, model_name, ids):
        """Note that records of model_name changed in a way that may change the
        state of their customers (see credit.customer.state.source): no query
        now, one at precommit or at the next search."""
        if not ids:
            return
        data = self.env.cr.precommit.data
        if STALE_KEY not in data:
            data[STALE_KEY] = {}
            self.env.cr.precommit.add(self._credit_persist_stale)
        data[STALE_KEY].setdefault(model_name, set()).update(ids)
        self._credit_invalidate_partner_statuses()

    @api.model
    def _credit_mark_partners_stale(self, partners, company):
        """Note that the state of the partners' customers in company may have
        changed (their credit or follow-up settings did)."""
        self._credit_mark_stale(PAIRS_KEY, {(partner.id, company.id) for partner in partners})

    @api.model
    def _credit_persist_stale(self):
        """Note stale, in one query, the customers of every record the
        transaction changed (an insert that never conflicts, see init)."""
        stale = self.env.cr.precommit.data.pop(STALE_KEY, None)
        if not stale:
            return
        selects = []
        pairs = stale.pop(PAIRS_KEY, None)
        if pairs:
            partner_ids, company_ids = zip(*pairs, strict=True)
            selects.append(
                SQL(
                    "SELECT partner.commercial_partner_id AS partner_id, pair.company_id "
                    "FROM UNNEST(%s::int[], %s::int[]) AS pair(partner_id, company_id) "
                    "JOIN res_partner partner ON partner.id = pair.partner_id",
                    list(partner_ids),
                    list(company_ids),
                )
            )
        for model_name, ids in stale.items():
            # sudo: which customers the changed records concern, whoever changed them.
            model = self.env[model_name].sudo()
            model.flush_model()
            selects.append(model._credit_state_pairs_sql(list(ids)))
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO credit_customer_state_stale (partner_id, company_id)
                SELECT DISTINCT pair.partner_id, pair.company_id
                  FROM (%s) AS pair
                 WHERE pair.partner_id IS NOT NULL AND pair.company_id IS NOT NULL
                """,
                SQL(" UNION ALL ").join(selects),
            )
        )
        self._credit_invalidate_partner_statuses()

    @api.model
    def _credit_stale_partner_ids(self, companies, today, partners=None):
        """{company id: [commercial partner ids]} of the states of the companies
        to recompute: those noted stale (the notes are consumed and the states
        they lack created) and those computed for another day; one query. Notes
        written meanwhile by transactions this one does not see stay for the
        next refresh. With partners (commercial): theirs only."""
        only = SQL("TRUE") if partners is None else SQL("partner_id = ANY(%s)", partners.ids)
        rows = self.env.execute_query(
            SQL(
                """
                WITH taken AS (
                    DELETE FROM credit_customer_state_stale
                     WHERE company_id = ANY(%(companies)s) AND %(only)s
                    RETURNING company_id, partner_id
                ), existing AS (
                    SELECT DISTINCT taken.company_id, taken.partner_id
                      FROM taken
                      JOIN res_partner partner ON partner.id = taken.partner_id
                ), created AS (
                    INSERT INTO credit_customer_state (
                        partner_id, company_id, credit_status, followup_status,
                        followup_episode, create_uid, create_date, write_uid, write_date)
                    SELECT partner_id, company_id, 'ok', 'no_action', 0,
                           %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
                      FROM existing
                    ON CONFLICT (partner_id, company_id) DO NOTHING
                )
                SELECT company_id, ARRAY_AGG(DISTINCT partner_id ORDER BY partner_id)
                  FROM (
                        SELECT company_id, partner_id FROM existing
                         UNION ALL
                        SELECT company_id, partner_id FROM credit_customer_state
                         WHERE company_id = ANY(%(companies)s) AND %(only)s
                           AND state_date IS DISTINCT FROM %(today)s
                  ) AS stale
                 GROUP BY company_id
                """,
                companies=companies.ids,
                today=today,
                uid=self.env.uid,
                only=only,
            )
        )
        return dict(rows)

    @api.model
    def _credit_mark_company_stale(self, companies):
        """Every state of the companies is to recompute (their rules changed)."""
        self.env.cr.execute(
            SQL(
                "UPDATE credit_customer_state SET state_date = NULL WHERE company_id = ANY(%s)",
                companies.ids,
            )
        )
        self.invalidate_model(["state_date"])
        self._credit_invalidate_partner_statuses()

    # ------------------------------------------------------------------
    # Refresh: one set of queries for all the stale states of a company
    # ------------------------------------------------------------------

    @api.model
    def _credit_refresh(self, companies):
        """Recompute the stale states of the companies (marked stale, or computed
        for another day), in a constant number of queries per company."""
        data = self.env.cr.precommit.data
        if data.get(REFRESHING_KEY):
            return
        data[REFRESHING_KEY] = True
        try:
            self._credit_persist_stale()
            self.flush_model()
            today = fields.Date.context_today(self)
            stale = self._credit_stale_partner_ids(companies, today)
            for company_id, partner_ids in stale.items():
                company = self.env["res.company"].browse(company_id)
                # sudo: the state is the system's, recomputed whoever reads it.
                self.sudo()._credit_recompute(
                    self.env["res.partner"].browse(partner_ids), company, today
                )
        finally:
            data.pop(REFRESHING_KEY, None)

    @api.model
    def _credit_recompute(self, partners, company, today):
        """Write the figures and statuses of the commercial partners' states in
        company, as credit.exposure and the follow-up engine decide them today."""
        # A system computation: figures count whoever triggers it.
        partners = partners.sudo().with_company(company)
        snapshots = self.env["credit.exposure"]._get_snapshots(partners, company)
        states = self.env["credit.followup.engine"]._get_states(partners, company)
        values = self._prepare_state_columns(partners, snapshots, states, today)
        self.env.cr.execute(
            SQL(
                """
                UPDATE credit_customer_state state
                   SET state_date = %(today)s,
                       credit_status = new.credit_status,
                       over_limit = new.over_limit,
                       followup_status = new.followup_status,
                       followup_next_action_date = new.next_date,
                       oldest_overdue_date = new.oldest,
                       receivable_amount = new.receivable,
                       overdue_amount = new.overdue,
                       exposure_amount = new.exposure,
                       write_date = NOW() AT TIME ZONE 'UTC'
                  FROM (SELECT UNNEST(%(ids)s::int[]) AS partner_id,
                               UNNEST(%(credit)s::varchar[]) AS credit_status,
                               UNNEST(%(over)s::bool[]) AS over_limit,
                               UNNEST(%(followup)s::varchar[]) AS followup_status,
                               UNNEST(%(next)s::date[]) AS next_date,
                               UNNEST(%(oldest)s::date[]) AS oldest,
                               UNNEST(%(receivable)s::numeric[]) AS receivable,
                               UNNEST(%(overdue)s::numeric[]) AS overdue,
                               UNNEST(%(exposure)s::numeric[]) AS exposure) AS new
                 WHERE state.partner_id = new.partner_id AND state.company_id = %(company)s
                """,
                today=today,
                company=company.id,
                **values,
            )
        )
        self.invalidate_model()
        self._credit_invalidate_partner_statuses()

    @api.model
    def _prepare_state_columns(self, partners, snapshots, states, today):
        """Columns of the UPDATE of the states, one array each, in partners' order."""
        columns = {
            name: []
            for name in (
                "ids",
                "credit",
                "over",
                "followup",
                "next",
                "oldest",
                "receivable",
                "overdue",
                "exposure",
            )
        }
        for partner in partners:
            snapshot = snapshots[partner.id]
            state = states[partner.id]
            days = snapshot["oldest_overdue_days"]
            columns["ids"].append(partner.id)
            columns["credit"].append(snapshot["status"])
            columns["over"].append(bool(snapshot["over_limit"]))
            columns["followup"].append(state["status"])
            columns["next"].append(state["next_action_date"] or None)
            columns["oldest"].append(fields.Date.subtract(today, days=days) if days else None)
            columns["receivable"].append(snapshot["receivable"])
            columns["overdue"].append(snapshot["overdue"])
            columns["exposure"].append(snapshot["exposure"])
        return columns

    # ------------------------------------------------------------------
    # Reading: what res.partner shows
    # ------------------------------------------------------------------

    @api.model
    def _credit_read_fresh(self, partners, company):
        """{commercial partner id: {column: value}} of the states of the commercial
        partners in company (the columns of PARTNER_STATUS_FIELDS), fresh: the
        stale ones among them (noted stale, or computed for another day), and
        only them, are recomputed first. One query when they are all fresh;
        partners without a state are not in it."""
        self._credit_persist_stale()
        rows = self._credit_read_rows(partners, company)
        today = fields.Date.context_today(self)
        stale = self.env["res.partner"].browse(
            partner_id
            for partner_id, row in rows.items()
            if row["noted"] or row["state_date"] != today
        )
        # Inside a refresh, the states being recomputed are read as they are.
        if stale and not self.env.cr.precommit.data.get(REFRESHING_KEY):
            self.env.cr.precommit.data[REFRESHING_KEY] = True
            try:
                self.flush_model()
                ids = self._credit_stale_partner_ids(company, today, partners=stale)
                # sudo: the state is the system's, recomputed whoever reads it.
                self.sudo()._credit_recompute(
                    self.env["res.partner"].browse(ids.get(company.id, [])), company, today
                )
            finally:
                self.env.cr.precommit.data.pop(REFRESHING_KEY, None)
            rows.update(self._credit_read_rows(stale, company))
        return {partner_id: row for partner_id, row in rows.items() if row["has_state"]}

    @api.model
    def _credit_read_rows(self, partners, company):
        """{partner id: {column: value, "has_state", "noted"}} of the partners
        with a state or a stale note in company, in one query."""
        columns = ["state_date", *PARTNER_STATUS_FIELDS.values()]
        self.flush_model(columns)
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.id, state.id IS NOT NULL, EXISTS (
                           SELECT 1 FROM credit_customer_state_stale note
                            WHERE note.company_id = %(company)s AND note.partner_id = partner.id
                       ), %(columns)s
                  FROM UNNEST(%(ids)s::int[]) AS partner(id)
             LEFT JOIN credit_customer_state state
                    ON state.partner_id = partner.id AND state.company_id = %(company)s
                """,
                columns=SQL(", ").join(SQL.identifier("state", column) for column in columns),
                company=company.id,
                ids=list(partners.ids),
            )
        )
        return {
            row[0]: {
                "has_state": row[1],
                "noted": row[2],
                **dict(zip(columns, row[3:], strict=True)),
            }
            for row in rows
            if row[1] or row[2]
        }

    @api.model
    def _credit_invalidate_partner_statuses(self):
        """The partners show the states: what they showed may have changed."""
        self.env["res.partner"].invalidate_model(list(PARTNER_STATUS_FIELDS), flush=False)

    # ------------------------------------------------------------------
    # Follow-up bookkeeping
    # ------------------------------------------------------------------

    @api.model
    def _get_bookkeeping(self, partners, company):
        """{commercial partner id: {field: value}} of the follow-up bookkeeping
        of the partners in company, in one query; no state: nothing sent yet."""
        self.flush_model(BOOKKEEPING_FIELDS)
        rows = self.env.execute_query(
            SQL(
                "SELECT partner_id, followup_level_id, followup_episode, followup_last_date "
                "FROM credit_customer_state WHERE company_id = %s AND partner_id = ANY(%s)",
                company.id,
                list(partners.ids),
            )
        )
        return {
            partner_id: {
                "followup_level_id": level_id,
                "followup_episode": episode or 0,
                "followup_last_date": last_date,
            }
            for partner_id, level_id, episode, last_date in rows
        }

    @api.model
    def _set_bookkeeping(self, partners, company, vals):
        """Write follow-up bookkeeping (some of BOOKKEEPING_FIELDS) on the states
        of the commercial partners in company, creating the states they lack.
        Written as the current user: the guard refuses anyone but the system."""
        partners = partners.commercial_partner_id
        if not partners:
            return self
        self._credit_ensure_states(partners, company)
        # Read by id, not searched: a search would recompute the stale states
        # first, in the middle of a follow-up run.
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM credit_customer_state "
                "WHERE company_id = %s AND partner_id = ANY(%s)",
                company.id,
                partners.ids,
            )
        )
        states = self.browse([row[0] for row in rows])
        states.write(dict(vals, state_date=False))
        self.env["res.partner"].invalidate_model(list(BOOKKEEPING_FIELDS))
        return states

    @api.model
    def _credit_ensure_states(self, partners, company):
        """Create, in one query, the states the commercial partners lack in company."""
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO credit_customer_state (
                    partner_id, company_id, credit_status, followup_status, followup_episode,
                    create_uid, create_date, write_uid, write_date)
                SELECT UNNEST(%(ids)s::int[]), %(company)s, 'ok', 'no_action', 0,
                       %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
                ON CONFLICT (partner_id, company_id) DO NOTHING
                """,
                ids=partners.ids,
                company=company.id,
                uid=self.env.uid,
            )
        )

    @api.model
    def _credit_create_missing_states(self):
        """Give every customer with credit activity its (stale) state, in every
        company: at install and upgrade, when the events did not see it come."""
        # sudo: every company, whoever upgrades; companies are few (no limit).
        for company in self.env["res.company"].sudo().search([]):  # pylint: disable=no-search-all
            candidates = set(self.env["credit.exposure"]._candidate_partner_ids(company))
            candidates |= set(self.env["credit.followup.engine"]._candidate_partner_ids(company))
            if candidates:
                self._credit_ensure_states(self.env["res.partner"].browse(candidates), company)

    # ------------------------------------------------------------------
    # Cron
    # ------------------------------------------------------------------

    @api.model
    def _cron_refresh_states(self):
        """Recompute every state computed for another day, company by company:
        the searches of the day then find them fresh."""
        # sudo: every active company, whoever runs the scheduled action.
        self._credit_refresh(self.env["res.company"].sudo().search([("active", "=", True)]))
