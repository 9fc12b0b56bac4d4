import {registry} from "@web/core/registry";

const card = ".o_kanban_record:has(span:contains('Credit & Collections'))";

registry.category("web_tour.tours").add("credit_collections_apps_tour", {
    steps: () => [
        {
            content: "Search the Apps for credit",
            trigger: ".o_modules_kanban .o_searchview_input",
            run: "edit Credit",
        },
        {
            content: "Apply the search",
            trigger: ".o_modules_kanban .o_searchview_input",
            run: "press Enter",
        },
        {
            content: "Credit & Collections is listed with its icon",
            trigger: `${card} img[src*='credit_collections/static/description/icon.png']`,
        },
        {
            content: "It is installed: nothing left to activate",
            trigger: `${card}:not(:has(button[name='button_immediate_install']))`,
        },
        {
            content: "Switch to the list of apps",
            trigger: ".o_switch_view.o_list",
            run: "click",
        },
        {
            content: "Its status is Installed",
            trigger:
                ".o_data_row:contains('Credit & Collections') td[name='state']:contains('Installed')",
        },
    ],
});
