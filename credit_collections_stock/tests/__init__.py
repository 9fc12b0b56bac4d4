from . import test_delivery_credit_hold
