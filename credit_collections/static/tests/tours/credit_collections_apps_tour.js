import { registry } from "@web/core/registry";

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
            content: "Open the app's menu",
            trigger: `${card} .o_dropdown_kanban .dropdown-toggle`,
            run: "hover && click",
        },
        {
            content: "An installed app can be uninstalled",
            trigger: ".dropdown-menu .dropdown-item:contains('Uninstall')",
        },
    ],
});
