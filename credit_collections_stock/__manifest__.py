{
    "name": "Credit & Collections: Deliveries",
    "summary": "Deliveries to customers on credit hold wait for an approval or a credit manager",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "author": "credit_collections contributors",
    "website": "https://github.com/credit-collections/credit_collections",
    "license": "LGPL-3",
    "depends": ["credit_collections", "sale_stock"],
    "data": [
        "security/ir.model.access.csv",
        "wizards/credit_delivery_override_wizard_views.xml",
        "views/stock_picking_views.xml",
    ],
    "auto_install": True,
}
