from . import credit_installment_plan_demo
