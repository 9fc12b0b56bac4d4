from . import res_company
from . import res_config_settings
from . import credit_exposure
from . import res_partner
from . import credit_approval_request
from . import sale_order
from . import account_move
