import json
import re

from odoo.tools import SQL

# The plan proposal was signed by the company; it is now signed by the plan's
# collector. Its template is noupdate (customers may edit it), so an update does
# not reload it: the old signature block is replaced in every language where it
# is still the one the addon shipped (a block naming the company); a template
# whose signature someone rewrote is left alone.
TEMPLATE = "mail_template_installment_plan_proposal"
OLD_SIGNATURE = re.compile(
    r'<div style="margin: 12px 0px 0px 0px; padding: 0px;">\s*[^<]*'
    r'<div t-out="object\.company_id\.name">[^<]*</div>\s*</div>'
)
NEW_SIGNATURE = (
    '<t t-set="followup" t-value="False"/>'
    '<t t-set="signer" t-value="object._get_proposal_signer()"/>'
    '<t t-set="signature_company" t-value="object.company_id"/>'
    '<t t-call="credit_collections.followup_signature"/>'
)


def migrate(cr, version):
    cr.execute(
        SQL(
            "SELECT template.id, template.body_html FROM mail_template template "
            "JOIN ir_model_data data ON data.res_id = template.id AND data.model = 'mail.template' "
            "WHERE data.module = 'credit_collections' AND data.name = %s",
            TEMPLATE,
        )
    )
    for template_id, bodies in cr.fetchall():
        new = {
            lang: OLD_SIGNATURE.sub(NEW_SIGNATURE, body) for lang, body in (bodies or {}).items()
        }
        if new != bodies:
            cr.execute(
                SQL(
                    "UPDATE mail_template SET body_html = %s::jsonb WHERE id = %s",
                    json.dumps(new),
                    template_id,
                )
            )
