from . import report_followup_partner_letter
