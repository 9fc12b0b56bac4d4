from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

# Follow-up bookkeeping once company-dependent on res.partner (a jsonb column
# {company id: value}), now kept on credit.customer.state.
OLD_COLUMNS = ("followup_level_id", "followup_episode", "followup_last_date")


def _existing_columns(cr):
    cr.execute(
        SQL(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'res_partner' AND column_name IN %s",
            OLD_COLUMNS,
        )
    )
    return {row[0] for row in cr.fetchall()}


def _move_bookkeeping(cr):
    """One state per customer and company holding a value, with its values."""
    cr.execute(
        SQL(
            """
            INSERT INTO credit_customer_state (
                partner_id, company_id, credit_status, followup_status,
                followup_level_id, followup_episode, followup_last_date,
                create_uid, create_date, write_uid, write_date)
            SELECT partner.id, company.id, 'ok', 'no_action',
                   level.id,
                   COALESCE((partner.followup_episode ->> company.id::text)::int, 0),
                   (partner.followup_last_date ->> company.id::text)::date,
                   %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
              FROM res_partner partner
              JOIN res_company company
                ON partner.followup_level_id ? company.id::text
                OR partner.followup_episode ? company.id::text
                OR partner.followup_last_date ? company.id::text
         LEFT JOIN credit_followup_level level
                ON level.id = (partner.followup_level_id ->> company.id::text)::int
             WHERE partner.id = partner.commercial_partner_id
            ON CONFLICT (partner_id, company_id) DO UPDATE
               SET followup_level_id = EXCLUDED.followup_level_id,
                   followup_episode = EXCLUDED.followup_episode,
                   followup_last_date = EXCLUDED.followup_last_date,
                   state_date = NULL
            """,
            uid=SUPERUSER_ID,
        )
    )
    for column in OLD_COLUMNS:
        cr.execute(SQL("ALTER TABLE res_partner DROP COLUMN IF EXISTS %s", SQL.identifier(column)))


def migrate(cr, version):
    if not version:
        return
    if _existing_columns(cr) == set(OLD_COLUMNS):
        _move_bookkeeping(cr)
    env = api.Environment(cr, SUPERUSER_ID, {})
    # Every customer with credit activity gets its state, computed at the first
    # search or by the daily refresh.
    env["credit.customer.state"]._credit_create_missing_states()
