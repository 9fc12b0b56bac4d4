from . import credit_limit_wizard
from . import credit_override_wizard
