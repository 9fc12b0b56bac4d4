from odoo import SUPERUSER_ID, api
from odoo.tools import SQL, convert_file

FOLLOWUP_TEMPLATES = [
    "credit_collections.mail_template_followup_reminder",
    "credit_collections.mail_template_followup_first",
    "credit_collections.mail_template_followup_second",
    "credit_collections.mail_template_followup_final",
]


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    # Follow-up emails now render from the follow-up history, not the customer:
    # the default templates are kept noupdate, so reload those still on customers.
    templates = [env.ref(xmlid, raise_if_not_found=False) for xmlid in FOLLOWUP_TEMPLATES]
    if any(template and template.model == "res.partner" for template in templates):
        convert_file(
            env,
            "credit_collections",
            "data/mail_template_data.xml",
            {},
            mode="init",
            noupdate=True,
            kind="data",
        )
    env["res.company"]._credit_set_default_products()
    # Requests made before the ordering customer was captured on them.
    cr.execute(
        SQL(
            """
            UPDATE credit_approval_request request
               SET order_partner_id = sale.partner_id
              FROM sale_order sale
             WHERE sale.id = request.order_id AND request.order_partner_id IS NULL
            """
        )
    )
