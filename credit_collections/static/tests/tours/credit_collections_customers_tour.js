import {registry} from "@web/core/registry";

const paused = "#credit_followup_paused_setting";
const lines = ".o_form_view .o_field_widget[name='line_ids']";

// The credit manager before the first automatic run: the settings say the
// follow-ups are paused, the preview shows what the run would send, the manager
// starts it and goes back to the settings.
registry.category("web_tour.tours").add("credit_collections_preview_tour", {
    steps: () => [
        {
            content:
                "The checkbox sits in the setting's checkbox pane, beside its label",
            trigger: `${paused} .o_setting_left_pane input[type='checkbox']:checked`,
        },
        {
            content: "The setting's label and what the pause means",
            trigger: `${paused} .o_setting_right_pane:contains('Start with automatic follow-ups paused'):contains('Automatic follow-ups are paused')`,
        },
        {
            content: "Preview the next run",
            trigger: `${paused} button[name='action_credit_followup_preview']`,
            run: "click",
        },
        {
            content: "The preview says the run is paused and nothing was sent",
            trigger:
                ".o_credit_preview_paused:contains('Automatic follow-ups are paused for this company')",
        },
        {
            content: "The customer, its level, channel and overdue amount",
            trigger: `${lines} .o_data_row:contains('Tour Preview Debtor'):contains('First reminder'):contains('Email'):contains('98,765.43')`,
        },
        {
            content: "Start the automatic follow-ups",
            trigger: "button[name='action_start_automatic_followups']",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer button.btn-primary",
            run: "click",
        },
        {
            content: "The preview now says the run is on",
            trigger:
                ".o_credit_preview_running:contains('Automatic follow-ups are on')",
        },
        {
            content: "The start button is gone",
            trigger:
                ".o_form_view:not(:has(button[name='action_start_automatic_followups']))",
        },
        {
            content: "Back to the settings",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Settings')",
            run: "click",
        },
        {
            content: "The settings say the follow-ups are no longer paused",
            trigger: `${paused} .o_setting_left_pane input[type='checkbox']:not(:checked)`,
        },
    ],
});

// The collector's first day: their customers, largest overdue first, then sorted
// by the oldest overdue.
registry.category("web_tour.tours").add("credit_collections_my_customers_tour", {
    steps: () => [
        {
            content: "The My Customers filter is on",
            trigger: ".o_searchview_facet:contains('My Customers')",
        },
        {
            content: "The largest overdue first",
            trigger:
                ".o_list_view .o_data_row:first-child:contains('Tour Big Debtor'):contains('5,000.00')",
        },
        {
            content:
                "Then the smaller one; the other collector's customer is not listed",
            trigger:
                ".o_list_view .o_data_row:nth-child(2):contains('Tour Late Debtor'):contains('800.00')",
        },
        {
            content: "Only the collector's customers",
            trigger:
                ".o_list_view:not(:contains('Tour Other Debtor')) .o_data_row:nth-child(2)",
        },
        {
            content: "Sort by the oldest overdue",
            trigger: ".o_list_view th[data-name='credit_oldest_overdue_days']",
            run: "click",
        },
        {
            content: "Sort by the oldest overdue, oldest first",
            trigger:
                ".o_list_view th[data-name='credit_oldest_overdue_days'].o_column_sortable",
            run: "click",
        },
        {
            content: "The customer late the longest comes first",
            trigger:
                ".o_list_view .o_data_row:first-child:contains('Tour Late Debtor')",
        },
    ],
});
