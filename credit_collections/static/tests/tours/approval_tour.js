import {registry} from "@web/core/registry";

const banner = ".o_credit_collections_banner";
const form = ".o_form_view";

// The salesperson's first day with a held order: Request Credit Approval asks
// why, the request shows what the credit manager decides read-only, and the
// customer's Overdue figure opens the items that make it up.
registry
    .category("web_tour.tours")
    .add("credit_collections_approval_salesperson_tour", {
        steps: () => [
            {
                content: "The quotation is held for credit",
                trigger: `${banner}.alert-danger:contains('Credit blocked.')`,
            },
            {
                content: "Request Credit Approval",
                trigger:
                    ".o_statusbar_buttons button[name='action_open_credit_approval_request']",
                run: "click",
            },
            {
                content:
                    "A dialog asks why an exception is needed, with the amount requested",
                trigger:
                    ".modal:contains('Why an Exception') .o_field_widget[name='amount']:contains('1,500.00')",
            },
            {
                content: "Send it without saying why",
                trigger: ".modal button[name='action_request']",
                run: "click",
            },
            {
                content: "Why an Exception is required",
                trigger: ".modal .o_field_widget[name='request_note'].o_field_invalid",
            },
            {
                content: "Say why",
                trigger: ".modal .o_field_widget[name='request_note'] textarea",
                run: "edit Ordered from us for ten years, always paid",
            },
            {
                content: "Send the request",
                trigger: ".modal button[name='action_request']",
                run: "click",
            },
            {
                content: "The order waits for a credit manager",
                trigger: `body:not(:has(.modal)) ${banner}:contains('Approval requested')`,
            },
            {
                content: "Open the order's credit approvals",
                trigger: ".oe_stat_button[name='action_view_credit_approvals']",
                run: "click",
            },
            {
                content: "Open the request",
                trigger:
                    ".o_list_view .o_data_row:contains('1,500.00') .o_data_cell[name='order_id']",
                run: "click",
            },
            {
                content: "The requested amount is shown, read-only",
                trigger: `${form} .o_field_widget[name='amount'].o_readonly_modifier:contains('1,500.00'):not(:has(input))`,
            },
            {
                content: "The validity is read-only",
                trigger: `${form} .o_field_widget[name='validity_days'].o_readonly_modifier:contains('7'):not(:has(input))`,
            },
            {
                content: "The manager note is read-only",
                trigger: `${form}:has(.o_field_widget[name='manager_note'].o_readonly_modifier):not(:has(.o_field_widget[name='manager_note'] textarea))`,
            },
            {
                content: "Why an Exception stays the salesperson's to edit",
                trigger: `${form} .o_field_widget[name='request_note']:not(.o_readonly_modifier) textarea`,
            },
            {
                content: "Open the customer",
                trigger: `${form} .o_field_widget[name='partner_id'] a.o_form_uri`,
                run: "click",
            },
            {
                content: "Open the Credit tab",
                trigger: ".o_notebook .nav-link:contains('Credit')",
                run: "click",
            },
            {
                content:
                    "The tab says what is overdue, taxes included, payments deducted",
                trigger:
                    ".o_notebook .tab-pane.active .o_field_widget[name='credit_overdue_amount']:contains('4,750.00')",
            },
            {
                content: "Open the overdue amount",
                trigger:
                    ".o_notebook .tab-pane.active button[name='action_view_credit_overdue']",
                run: "click",
            },
            {
                content: "The partly paid invoice shows what is left to pay on it",
                trigger: ".o_list_view .o_data_row:contains('3,600.00')",
            },
            {
                content: "The unpaid invoice shows its total, taxes included",
                trigger: ".o_list_view .o_data_row:contains('1,150.00')",
            },
            {
                content: "The list totals the tab's figure, not untaxed invoice totals",
                trigger:
                    ".o_list_view:has(thead:contains('Amount Due')) tfoot:contains('4,750.00')",
            },
            {
                content: "No untaxed invoice total is shown",
                trigger: ".o_list_view:not(:has(.o_data_row:contains('5,000.00')))",
            },
        ],
    });
