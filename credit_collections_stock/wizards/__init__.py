from . import credit_delivery_override_wizard
