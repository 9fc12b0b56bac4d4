from . import credit_installment_plan_demo
from . import credit_interest_run_demo
from . import credit_promise_demo
