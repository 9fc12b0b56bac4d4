from . import credit_limit_wizard
from . import credit_override_wizard
from . import credit_followup_send_wizard
from . import credit_followup_call_wizard
from . import credit_followup_pause_wizard
from . import credit_followup_exclude_wizard
from . import credit_approval_request_wizard
