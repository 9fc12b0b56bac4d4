{
    "name": "Credit & Collections",
    "summary": "Credit limits and holds, follow-ups, installment plans, "
    "late interest and a collections workspace",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "author": "credit_collections contributors",
    "website": "https://github.com/credit-collections/credit_collections",
    "license": "LGPL-3",
    "depends": ["account", "sale_management", "mail", "portal"],
    "data": [
        "security/credit_collections_security.xml",
        "security/ir.model.access.csv",
        "data/mail_activity_type_data.xml",
        "data/ir_cron_data.xml",
        "wizards/credit_limit_wizard_views.xml",
        "wizards/credit_override_wizard_views.xml",
        "views/res_config_settings_views.xml",
        "views/res_partner_views.xml",
        "views/sale_order_views.xml",
        "views/credit_approval_request_views.xml",
        "views/credit_collections_menus.xml",
    ],
    "demo": [
        "demo/credit_collections_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "credit_collections/static/tests/tours/**/*",
        ],
    },
    "application": True,
}
