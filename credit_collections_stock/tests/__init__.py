from . import test_delivery_credit_hold
from . import test_delivery_hold_paths
from . import test_guarded_fields
