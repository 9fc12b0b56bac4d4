from odoo import api, models
from odoo.tools import SQL


class CreditCustomerStateSource(models.AbstractModel):
    """Records whose changes make the credit state of their customer stale
    (credit.customer.state): receivable items, invoices, orders, promises, plans.

    Every change of a watched column goes through the ORM's low-level writes
    (``_create``, ``_write_multi``, also when computed fields are flushed), so
    that posting, cancelling, reconciling, confirming or paying are all seen
    here without a hook per action. Nothing is queried then: the ids are noted
    and the state owner marks their customers stale in one query at precommit.

    To make another model a source: inherit this mixin, list its columns in
    ``_credit_state_watched`` and return its (customer, company) pairs in
    ``_credit_state_pairs_sql``.
    """

    _name = "credit.customer.state.source"
    _description = "Credit & Collections Customer State Source"

    # Columns whose change may change the state of the record's customer.
    _credit_state_watched = frozenset()

    def _credit_state_pairs_sql(self, ids):
        """SQL selecting (partner_id: commercial partner, company_id) of the
        records ids of this model."""
        raise NotImplementedError()

    def _credit_state_pairs_by_partner_sql(self, ids, partner_column="partner_id"):
        """Pairs of a model with its own partner and company columns."""
        return SQL(
            "SELECT partner.commercial_partner_id AS partner_id, record.company_id "
            "FROM %s record JOIN res_partner partner ON partner.id = record.%s "
            "WHERE record.id = ANY(%s)",
            SQL.identifier(self._table),
            SQL.identifier(partner_column),
            ids,
        )

    @api.model
    def _create(self, data_list):
        records = super()._create(data_list)
        self.env["credit.customer.state"]._credit_mark_stale(self._name, records.ids)
        return records

    def _write_multi(self, vals_list):
        if any(self._credit_state_watched.intersection(vals) for vals in vals_list):
            self.env["credit.customer.state"]._credit_mark_stale(self._name, self.ids)
        return super()._write_multi(vals_list)

    def unlink(self):
        if self:
            # Gone at precommit: their customers are marked stale now.
            self.env["credit.customer.state"]._credit_mark_stale(self._name, self.ids)
            self.env["credit.customer.state"]._credit_persist_stale()
        return super().unlink()
