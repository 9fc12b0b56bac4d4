import {registry} from "@web/core/registry";

registry.category("web_tour.tours").add("credit_collections_plan_tour", {
    steps: () => [
        {
            content: "Reschedule the overdue invoice",
            trigger:
                ".o_form_view .o_statusbar_buttons button[name='action_credit_installment_plan']",
            run: "click",
        },
        {
            content: "The plan reschedules the invoice's open amount",
            trigger: ".o_field_widget[name='source_amount']:contains('1,200.00')",
        },
        {
            content: "Three installments",
            trigger: ".o_field_widget[name='installment_count'] input",
            run: "edit 3",
        },
        {
            content: "Compute the schedule",
            trigger:
                ".o_form_view .o_statusbar_buttons button[name='action_compute_schedule']",
            run: "click",
        },
        {
            content: "Three equal installments are shown before anything is posted",
            trigger:
                ".o_field_widget[name='line_ids'] .o_data_row:nth-child(3):contains('400.00')",
        },
        {
            content: "Activate",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_activate']",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer button.btn-primary",
            run: "click",
        },
        {
            content: "The plan is active",
            trigger:
                ".o_statusbar_status button.o_arrow_button_current:contains('Active')",
        },
        {
            content: "Its entry is posted",
            trigger:
                ".o_field_widget[name='move_id'] a, .o_field_widget[name='move_id']:contains('MISC')",
        },
    ],
});

registry.category("web_tour.tours").add("credit_collections_plan_portal_tour", {
    steps: () => [
        {
            content: "The proposed installments are listed",
            trigger:
                ".o_portal_credit_plan_installments tbody tr:nth-child(3):contains('300.00')",
        },
        {
            content: "Type the name to accept",
            trigger: ".o_portal_credit_plan_accept input[name='name']",
            run: "edit Debtor Clerk",
        },
        {
            content: "Accept and sign",
            trigger: ".o_portal_credit_plan_accept button[type='submit']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The plan is active",
            trigger: ".alert-success:contains('the plan is active')",
        },
        {
            content: "Its installments can be paid online",
            trigger: ".o_portal_credit_plan_pay",
        },
    ],
});
