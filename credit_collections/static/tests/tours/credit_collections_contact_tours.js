import {registry} from "@web/core/registry";

registry.category("web_tour.tours").add("credit_collections_employee_contact_tour", {
    steps: () => [
        {
            content: "The contact opens for an employee without Sales or Invoicing",
            trigger:
                ".o_form_view .o_field_widget[name='name']:contains('Tour Contact Co'), .o_form_view .o_field_widget[name='name'] input",
        },
        {
            content: "Open the Credit tab",
            trigger: ".o_notebook .nav-link:contains('Credit')",
            run: "click",
        },
        {
            content: "The customer's credit status is shown",
            trigger:
                ".o_notebook .tab-pane.active .o_field_widget[name='credit_status']",
        },
        {
            content: "Approval requests, which the employee may not read, are not",
            trigger:
                ".o_notebook .tab-pane.active:not(:has(.o_field_widget[name='credit_approval_ids']))",
        },
        {
            content: "No error was raised",
            trigger: "body:not(:has(.o_error_dialog))",
        },
    ],
});
