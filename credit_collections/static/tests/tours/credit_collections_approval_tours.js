import {registry} from "@web/core/registry";

const banner = ".o_credit_collections_banner";

registry.category("web_tour.tours").add("credit_collections_blocked_order_tour", {
    steps: () => [
        {
            content:
                "The quotation says the customer is blocked, before anyone confirms",
            trigger: `${banner}.alert-danger:contains('Credit blocked.'):contains('Over credit limit')`,
        },
        {
            content: "Try to confirm anyway",
            trigger: ".o_statusbar_buttons button[name='action_confirm']",
            run: "click",
        },
        {
            content: "Confirmation is refused with the reason and what to do",
            trigger:
                ".o_error_dialog:contains('cannot be confirmed'):contains('Request Credit Approval')",
        },
        {
            content: "Close the error",
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "Ask a credit manager for an exception",
            trigger:
                ".o_statusbar_buttons button[name='action_open_credit_approval_request']",
            run: "click",
        },
        {
            content: "The request asks why an exception is needed",
            trigger: ".modal div[name='request_note'] textarea",
            run: "edit Customer for ten years, pays on time",
        },
        {
            content: "Send the request",
            trigger: ".modal button[name='action_request']",
            run: "click",
        },
        {
            content: "The request is waiting for a credit manager",
            trigger: `${banner}.alert-danger:contains('Approval requested')`,
        },
    ],
});

registry.category("web_tour.tours").add("credit_collections_approve_tour", {
    steps: () => [
        {
            content: "The credit manager approves from the order",
            trigger: ".o_statusbar_buttons button[name='action_approve_credit']",
            run: "click",
        },
        {
            content: "The order now carries the approval",
            trigger: `${banner}.alert-warning:contains('Credit exception approved')`,
        },
    ],
});

registry.category("web_tour.tours").add("credit_collections_confirm_approved_tour", {
    steps: () => [
        {
            content: "The salesperson sees the approval",
            trigger: `${banner}.alert-warning:contains('Credit exception approved')`,
        },
        {
            content: "Confirm the approved quotation",
            trigger: ".o_statusbar_buttons button[name='action_confirm']",
            run: "click",
        },
        {
            content: "It is a sales order now",
            trigger:
                ".o_statusbar_status button[aria-checked='true']:contains('Sales Order')",
        },
    ],
});
