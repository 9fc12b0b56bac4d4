import {registry} from "@web/core/registry";

const failedRow =
    ".o_list_view .o_data_row:contains('Tour Failed Payer'):contains('Exception')";

registry.category("web_tour.tours").add("credit_collections_mail_tour", {
    steps: () => [
        {
            content:
                "The customer's two follow-ups are listed with what was overdue at each",
            trigger:
                ".o_list_view .o_data_row:contains('Tour Failed Payer'):contains('1,234.56') ~ .o_data_row:contains('Tour Failed Payer'):contains('1,234.56')",
        },
        {
            content: "No total adds the same debt twice",
            trigger: ".o_list_view .o_list_table:not(:contains('2,469.12'))",
        },
        {
            content: "Open the follow-up whose email failed",
            trigger: `${failedRow} td[name='partner_id']`,
            run: "click",
        },
        {
            content: "Its email status reads Exception",
            trigger:
                ".o_form_view .o_field_widget[name='email_state']:contains('Exception')",
        },
        {
            content: "Retry the email",
            trigger:
                ".o_form_view .o_statusbar_buttons button[name='action_retry_email']",
            run: "click",
        },
        {
            content: "The collector is told it is queued again",
            trigger: ".o_notification:contains('1 email queued again.')",
        },
        {
            content: "The follow-up now reads Queued",
            trigger:
                ".o_form_view .o_field_widget[name='email_state']:contains('Queued')",
        },
        {
            content: "Nothing left to retry",
            trigger:
                ".o_form_view .o_form_statusbar:not(:has(button[name='action_retry_email']))",
        },
        {
            content: "The retry is logged in the follow-up's chatter",
            trigger:
                ".o-mail-Chatter .o-mail-Message:contains('Email retried by Tour Collector')",
        },
    ],
});
