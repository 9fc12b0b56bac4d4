from odoo.tools import SQL

from . import controllers
from . import models
from . import demo
from . import report
from . import wizards


def post_init_hook(env):
    # Customers invoiced before the install get their state.
    env["credit.customer.state"]._credit_create_missing_states()


def uninstall_hook(env):
    # The table credit.exposure creates for confirmations to wait on each other,
    # which no model owns (see credit.exposure.init).
    env.cr.execute(SQL("DROP TABLE IF EXISTS credit_collections_partner_lock"))
    # The stale notes of the customer states (see credit.customer.state.init).
    env.cr.execute(SQL("DROP TABLE IF EXISTS credit_customer_state_stale"))
