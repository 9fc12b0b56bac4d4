from odoo import models


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _postprocess_sent_message(self, success_pids, failure_reason=False, failure_type=None):
        # A follow-up's history said "queued" when its email was created: say
        # what the mail queue did with it, as the collector would ask.
        followup_mails = self.filtered(
            lambda mail: mail.model == "credit.followup.history" and mail.res_id
        )
        if followup_mails:
            # The history is the system's record (read-only for users); the queue
            # may run as any user.
            histories = (
                self.env["credit.followup.history"]
                .sudo()
                .browse(followup_mails.mapped("res_id"))
                .exists()
            )
            history_of = {history.id: history for history in histories}
            for mail in followup_mails:
                history = history_of.get(mail.res_id, histories.browse())
                if history.mail_message_id != mail.mail_message_id:
                    continue
                history._add_summary(history._get_email_outcome(mail))
                # Kept should the failed email be deleted: it can still be retried.
                history.email_failed = mail.state == "exception"
        return super()._postprocess_sent_message(
            success_pids, failure_reason=failure_reason, failure_type=failure_type
        )
