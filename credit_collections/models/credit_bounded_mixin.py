from odoo import models


class CreditBoundedMixin(models.AbstractModel):
    """Fields whose value has bounds (a level's delay, a pause date): one test of
    the bounds and one warning as the value is typed, for every form that has
    such a field. The model's constraint still refuses the value on save.

    A model inheriting it lists its bounded fields in ``_credit_field_bounds()``,
    may say what is allowed in its own words in ``_credit_bound_message()``, and
    its onchange returns ``self._credit_bound_warning(field_name)``.
    """

    _name = "credit.bounded.mixin"
    _description = "Bounded Fields"

    def _credit_field_bounds(self):
        """{field name: (lowest, highest)} allowed now, numbers or dates; None for
        no bound on that side."""
        return {}

    def _credit_bound_message(self, field_name, low, high):
        """What the warning says of a value of field_name out of [low, high]."""
        return self.env._(
            "%(field)s must be between %(low)s and %(high)s.",
            field=self._credit_field_label(field_name),
            low=low,
            high=high,
        )

    def _credit_is_out_of_bounds(self, field_name):
        low, high = self._credit_field_bounds()[field_name]
        value = self[field_name]
        if value is False or value is None:
            return False  # empty: a required field says so itself
        return (low is not None and value < low) or (high is not None and value > high)

    def _credit_bound_warning(self, field_name):
        """The onchange answer for field_name: a warning titled with the field's
        label when its value is out of bounds, else None."""
        if not self._credit_is_out_of_bounds(field_name):
            return None
        low, high = self._credit_field_bounds()[field_name]
        return {
            "warning": {
                "title": self._credit_field_label(field_name),
                "message": self._credit_bound_message(field_name, low, high),
            }
        }

    def _credit_field_label(self, field_name):
        return self._fields[field_name].get_description(self.env)["string"]
