from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    # Installs before 18.0.1.3.0 gave the default follow-up policy to one company
    # only: the others, often the main one, never had a follow-up run.
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["res.company"]._credit_create_default_followup_policies()
