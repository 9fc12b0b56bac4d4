from werkzeug.exceptions import NotFound
from werkzeug.urls import url_encode

from odoo import http
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.http import request

from odoo.addons.payment import utils as payment_utils
from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager


class CreditCollectionsPortal(CustomerPortal):
    """The customer's installment plans: the list, each plan's installments with
    a pay link, and the acceptance of a proposed plan."""

    def _credit_plans_domain(self):
        partner = request.env.user.partner_id.commercial_partner_id
        return [
            ("partner_id", "=", partner.id),
            ("state", "not in", ("draft", "cancelled")),
        ]

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "credit_plan_count" in counters:
            # sudo: customers have no access to plans but their own, shown here.
            values["credit_plan_count"] = (
                request.env["credit.installment.plan"]
                .sudo()
                .search_count(self._credit_plans_domain())
            )
        return values

    @http.route(["/my/plans", "/my/plans/page/<int:page>"], type="http", auth="user", website=True)
    def portal_my_credit_plans(self, page=1, **kw):
        # sudo: only the customer's own plans (the domain), which it cannot read.
        plans = request.env["credit.installment.plan"].sudo()
        domain = self._credit_plans_domain()
        pager = portal_pager(
            url="/my/plans",
            total=plans.search_count(domain),
            page=page,
            step=self._items_per_page,
        )
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "plans": plans.search(domain, limit=self._items_per_page, offset=pager["offset"]),
                "pager": pager,
                "page_name": "credit_plan",
                "default_url": "/my/plans",
            }
        )
        return request.render("credit_collections.portal_my_credit_plans", values)

    def _credit_plan_check_access(self, plan_id, access_token):
        try:
            plan_sudo = self._document_check_access(
                "credit.installment.plan", plan_id, access_token
            )
        except (AccessError, MissingError) as error:
            raise NotFound() from error
        if plan_sudo.state in ("draft", "cancelled") and not access_token:
            raise NotFound()
        return plan_sudo

    def _document_check_access(self, model_name, document_id, access_token=None):
        if model_name == "credit.installment.plan":
            # The plans of the customer's own company are its documents, without a
            # token; anyone else needs the plan's token.
            plan_sudo = request.env[model_name].sudo().browse(document_id).exists()
            partner = request.env.user.partner_id.commercial_partner_id
            if (
                plan_sudo
                and not request.env.user._is_public()
                and plan_sudo.partner_id == partner
                and plan_sudo.state not in ("draft", "cancelled")
            ):
                return plan_sudo
        return super()._document_check_access(model_name, document_id, access_token)

    @http.route(["/my/plans/<int:plan_id>"], type="http", auth="public", website=True)
    def portal_my_credit_plan(self, plan_id, access_token=None, message=None, **kw):
        plan_sudo = self._credit_plan_check_access(plan_id, access_token)
        values = self._get_page_view_values(
            plan_sudo,
            access_token,
            {
                "plan": plan_sudo,
                "page_name": "credit_plan",
                "message": message,
                "pay_links": self._credit_plan_pay_links(plan_sudo),
            },
            "my_credit_plans_history",
            False,
        )
        return request.render("credit_collections.portal_credit_plan_page", values)

    def _credit_plan_pay_links(self, plan_sudo):
        """{installment id: link to pay what is left of it online}, for the open
        installments of a running plan."""
        links = {}
        if plan_sudo.state not in ("active", "defaulted"):
            return links
        for line in plan_sudo.line_ids.filtered(lambda line: line.state != "paid"):
            amount = line.amount_residual
            partner_id, currency_id = plan_sudo.partner_id.id, plan_sudo.currency_id.id
            links[line.id] = "/payment/pay?" + url_encode(
                {
                    "reference": line.move_line_id.name,
                    "amount": amount,
                    "currency_id": currency_id,
                    "partner_id": partner_id,
                    "company_id": plan_sudo.company_id.id,
                    "access_token": payment_utils.generate_access_token(
                        partner_id, amount, currency_id
                    ),
                }
            )
        return links

    @http.route(
        ["/my/plans/<int:plan_id>/accept"],
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_credit_plan_accept(self, plan_id, access_token=None, name=None, **kw):
        plan_sudo = self._credit_plan_check_access(plan_id, access_token)
        # What the page says comes from a code (see portal_credit_plan_page), never
        # from text carried by the URL.
        if plan_sudo.state != "proposed" or plan_sudo.signed_by:
            message = "accept_closed"
        elif not (name or "").strip():
            message = "accept_name_missing"
        else:
            try:
                # Nothing of a refused acceptance is kept (a half-recorded signature).
                with request.env.cr.savepoint():
                    activated = plan_sudo._action_customer_accept(
                        name, request.httprequest.remote_addr
                    )
            except UserError:
                message = "accept_failed"
            else:
                message = "accepted" if activated else "accepted_review"
        return request.redirect(plan_sudo.get_portal_url(query_string=f"&message={message}"))
