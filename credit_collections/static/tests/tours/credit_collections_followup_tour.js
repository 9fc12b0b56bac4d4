import {registry} from "@web/core/registry";
import {formatDate} from "@web/core/l10n/dates";

const {DateTime} = luxon;

const page = ".o_notebook";

registry.category("web_tour.tours").add("credit_collections_followup_tour", {
    steps: () => [
        {
            content: "Open the customer's follow-up",
            trigger: `${page} a.nav-link[name='credit_followup']`,
            run: "click",
        },
        {
            content: "The overdue invoice is on the open position",
            trigger:
                ".o_field_widget[name='credit_open_line_ids'] .o_data_row:contains('1,234.56')",
        },
        {
            content: "Send a reminder now",
            trigger: `${page} button:contains('Send Now')`,
            run: "click",
        },
        {
            content: "The level due now is proposed",
            trigger:
                ".modal .o_field_widget[name='level_id'] input:value('First reminder')",
        },
        {
            content: "The email preview lists the overdue invoice",
            trigger:
                ".modal .o_field_widget[name='email_preview']:contains('INV/'):contains('1,234.56')",
        },
        {
            content: "Send it",
            trigger: ".modal-footer button[name='action_send']",
            run: "click",
        },
        {
            content: "The reminder is in the customer's history",
            trigger:
                ".o_field_widget[name='followup_history_ids'] .o_data_row:contains('First reminder')",
        },
        {
            content: "The customer promises to pay part of it",
            trigger: `${page} button[name='action_followup_record_promise']`,
            run: "click",
        },
        {
            content: "Promised amount",
            trigger: ".modal .o_field_widget[name='amount'] input",
            run: "edit 600",
        },
        {
            content: "Promised date, in a week",
            trigger: ".modal .o_field_widget[name='promised_date'] input",
            run: `edit ${formatDate(DateTime.now().plus({days: 7}))}`,
        },
        {
            content: "Say what the customer said",
            trigger: ".modal .o_field_widget[name='note'] textarea",
            run: "edit Pays half next week",
        },
        {
            content: "Record the promise",
            trigger: ".modal-footer button.btn-primary:contains('Record Promise')",
            run: "click",
        },
        {
            content: "The promise is listed",
            trigger:
                ".o_field_widget[name='credit_promise_ids'] .o_data_row:contains('600.00'):contains('Open')",
        },
        {
            content: "The customer's follow-up status is now Promised",
            trigger: `${page} .o_field_widget[name='followup_status']:contains('Promised')`,
        },
    ],
});
