import {registry} from "@web/core/registry";
import {stepUtils} from "@web_tour/tour_service/tour_utils";

const interest = "#credit_interest_setting";

registry.category("web_tour.tours").add("credit_collections_interest_tour", {
    steps: () => [
        {
            content: "Turn late interest on",
            trigger: `${interest} .o_field_boolean input[type='checkbox']`,
            run: "click",
        },
        {
            content: "Use the 1.5 % a month preset",
            trigger: `${interest} button[name='action_credit_interest_preset_monthly']`,
            run: "click",
        },
        {
            content: "Odoo asks to save the settings first: save",
            trigger: ".modal-footer button.btn-primary:contains('Save')",
            run: "click",
        },
        {
            content: "Late interest is on and saved: use the preset now",
            trigger: `${interest} button[name='action_credit_interest_preset_monthly']`,
            run: "click",
        },
        {
            // The margin was 8 points before: waiting for the preset's values keeps
            // the next step from opening the apps menu while the form reloads.
            content: "The preset is applied: no margin over 18 % a year",
            trigger: `${interest} .o_field_widget[name='credit_interest_margin'] input:value("0.00")`,
        },
        {
            content:
                "The preset is applied: invoices will print the late-payment terms",
            trigger: `#credit_interest_print_terms_setting .o_field_widget[name='credit_interest_print_terms'] input:checked`,
        },
        {
            content: "No dialog is left open",
            trigger: "body:not(:has(.modal))",
        },
        ...stepUtils.goToAppSteps("account.menu_finance", "Open Accounting"),
        {
            content: "Open the Credit & Collections menu",
            trigger:
                "button[data-menu-xmlid='credit_collections.menu_credit_collections_root']",
            run: "click",
        },
        {
            content: "Open Late Interest",
            trigger: "a[data-menu-xmlid='credit_collections.menu_credit_interest_run']",
            run: "click",
        },
        {
            content: "The runs are listed",
            trigger: ".o_breadcrumb:contains('Late Interest')",
        },
        {
            content: "Start a run",
            trigger: "button.o_list_button_add",
            run: "click",
        },
        {
            content: "Compute the preview",
            trigger: ".o_form_view button[name='action_compute']",
            run: "click",
        },
        {
            content: "The preview charges the late payer 60 days at 18 %",
            trigger:
                ".o_field_widget[name='accrual_ids'] .o_data_row:contains('Tour Interest Payer'):contains('295.89')",
        },
        {
            content: "Nothing is invoiced yet",
            trigger:
                ".o_form_view:not(:has(.o_field_widget[name='invoice_ids'] .o_tag))",
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
            content: "The run is invoiced",
            trigger:
                ".o_statusbar_status button.o_arrow_button_current:contains('Invoiced')",
        },
        {
            content: "Its invoice is listed",
            trigger: ".o_field_widget[name='invoice_ids'] .o_tag:contains('INV/')",
        },
    ],
});
