import {registry} from "@web/core/registry";

// Issue 20, points 11 and 3: the actions a plan shows to a collector, and what
// a late interest run with nothing to charge says.
registry
    .category("web_tour.tours")
    .add("credit_collections_plan_collector_actions_tour", {
        steps: () => [
            {
                content: "The draft plan's schedule is computed",
                trigger: ".o_field_widget[name='line_ids'] .o_data_row",
            },
            {
                content: "A collector may not activate it: Propose is the main action",
                trigger:
                    ".o_statusbar_buttons:not(:has(button[name='action_activate'])) button.btn-primary[name='action_propose']",
            },
            {
                content: "The form says who activates it",
                trigger:
                    ".o_credit_plan_activation_note:contains('A credit manager activates this plan')",
            },
            {
                content: "A saved draft can be cancelled",
                trigger: ".o_statusbar_buttons button[name='action_cancel']",
            },
            {
                content: "Start a new plan",
                trigger: ".o_form_button_create",
                run: "click",
            },
            {
                content: "A new, unsaved plan is open: its schedule is to compute",
                trigger:
                    ".o_form_editable .o_statusbar_buttons button.btn-primary[name='action_compute_schedule']",
            },
            {
                content: "No Cancel Plan, no Activate on the new draft",
                trigger:
                    ".o_form_view:not(:has(button[name='action_cancel'])):not(:has(button[name='action_activate']))",
            },
            {
                content: "Discard the new plan",
                trigger: ".o_form_button_cancel",
                run: "click",
            },
        ],
    });

registry.category("web_tour.tours").add("credit_collections_interest_nothing_tour", {
    steps: () => [
        {
            content: "The stale preview still lists yesterday's charges",
            trigger: ".o_field_widget[name='accrual_ids'] .o_data_row",
        },
        {
            content: "Create the invoices",
            trigger: ".o_form_view button[name='action_invoice']",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer button.btn-primary",
            run: "click",
        },
        {
            content: "The notification says why nothing was invoiced",
            trigger:
                ".o_notification:contains('Nothing to charge'):contains('is already charged for these customers')",
        },
        {
            content: "The run reads Nothing to Charge, not Invoiced",
            trigger:
                ".o_statusbar_status button.o_arrow_button_current:contains('Nothing to Charge')",
        },
        {
            content: "The form's banner says why",
            trigger:
                ".alert-info .o_field_widget[name='nothing_reason']:contains('every day up to')",
        },
        {
            content: "So does the chatter",
            trigger: ".o-mail-Message:contains('Closed without invoices.')",
        },
        {
            content: "No invoice is listed",
            trigger:
                ".o_form_view:not(:has(.o_field_widget[name='invoice_ids'] .o_tag))",
        },
    ],
});
