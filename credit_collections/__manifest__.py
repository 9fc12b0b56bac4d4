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
        "views/res_config_settings_views.xml",
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
