from . import credit_override_wizard
