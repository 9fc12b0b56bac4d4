from odoo.tools import SQL

from . import controllers
from . import models
from . import demo
from . import report
from . import wizards


def uninstall_hook(env):
    # The table credit.exposure creates for confirmations to wait on each other,
    # which no model owns (see credit.exposure.init).
    env.cr.execute(SQL("DROP TABLE IF EXISTS credit_collections_partner_lock"))
