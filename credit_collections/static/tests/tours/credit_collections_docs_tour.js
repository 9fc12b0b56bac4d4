import {registry} from "@web/core/registry";

// The customer of a rescheduled invoice: the invoice says Rescheduled (not
// Paid) and leads to the plan whose installments it pays instead.
registry.category("web_tour.tours").add("credit_collections_rescheduled_invoice_tour", {
    steps: () => [
        {
            content: "The invoices list says the invoice was rescheduled",
            trigger:
                "td[name='invoice_status'] .o_portal_credit_rescheduled_badge:contains('Rescheduled')",
        },
        {
            content: "Nothing in the list says it was paid",
            trigger: "table:not(:has(td[name='invoice_status']:contains('Paid')))",
        },
        {
            content: "Open the invoice",
            trigger: "tbody tr a[href*='/my/invoices/']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Its status is Rescheduled into the plan",
            trigger:
                ".o_portal_invoice_sidebar .o_portal_credit_rescheduled_badge:contains('Rescheduled into PLAN/')",
        },
        {
            content: "No Paid badge",
            trigger: ".o_portal_invoice_sidebar:not(:has(.badge:contains('Paid')))",
        },
        {
            content: "What to pay instead, with the plan's link",
            trigger: ".o_portal_credit_rescheduled:contains('pay its installments')",
        },
        {
            content: "Open the plan",
            trigger: ".o_portal_credit_rescheduled a[href*='/my/plans/']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The plan's installments, to pay online",
            trigger:
                ".o_portal_credit_plan_installments tbody tr:nth-child(3):contains('300.00')",
        },
        {
            content: "Each can be paid",
            trigger: ".o_portal_credit_plan_pay",
        },
    ],
});
