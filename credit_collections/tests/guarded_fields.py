"""Attacks on the fields only the system or a decision may set, built from the
registry: every model with fields of the given modules, every guarded field,
every role, every path. Reused by the stock bridge's tests."""

from datetime import date, datetime, timedelta

from odoo.exceptions import AccessError

from odoo.addons.credit_collections.models.credit_guarded_mixin import GUARDED_MODULES

# Within the bounds the constraints put on dates (a pause, a review): the guard,
# not a bound, must be what refuses the forgery.
FORGED_DAYS_AHEAD = 41


class GuardedFieldsAttacks:
    """To mix into a TransactionCase: ``self.guard_roles`` ({name: user}) and
    ``self.guard_samples`` ({model: record}) set in setUpClass."""

    guard_modules = GUARDED_MODULES

    def _guard_models(self):
        """Models holding stored fields of the guarded modules (wizards excluded:
        their fields are what the user types, checked by their actions)."""
        result = {}
        for name in sorted(self.env.registry):
            model = self.env[name]
            if model._abstract or model._transient:
                continue
            fields = [
                field
                for field in model._fields.values()
                if field.store
                and getattr(field, "_module", None) in self.guard_modules
                and field.name not in ("id", "create_uid", "create_date", "write_uid", "write_date")
            ]
            if fields:
                result[name] = fields
        return result

    def _assert_every_field_classified(self):
        unclassified = []
        for name, fields in self._guard_models().items():
            model = self.env[name]
            if "_credit_guarded_fields" not in dir(model):
                unclassified.append(f"{name} (does not inherit credit.guarded.mixin)")
                continue
            classified = set(model._credit_guarded_fields()) | set(model._credit_free_fields())
            unclassified += [
                f"{name}.{field.name}" for field in fields if field.name not in classified
            ]
        self.assertFalse(
            unclassified,
            "Fields neither guarded nor declared free (_credit_guarded_fields or "
            "_credit_free_fields): " + ", ".join(unclassified),
        )

    def _guard_sample(self, model_name):
        record = self.guard_samples.get(model_name)
        if not record:
            record = self.env[model_name].sudo().search([], limit=1)
        self.assertTrue(record, f"No {model_name} record to attack: add one to setUpClass.")
        return record.sudo()

    def _forged_value(self, record, field, attacker):
        """A value of field other than the record's and than the attacker's own
        (their user, their company), in write format."""
        current = record[field.name]
        if field.type == "boolean":
            return not current
        if field.type in ("integer", "float"):
            # Small: a forgery within the bounds the constraints allow.
            return (current or 0) + 7
        if field.type == "monetary":
            return (current or 0) + 7777
        if field.type in ("char", "text", "html"):
            return "Forged by a test"
        if field.type == "date":
            return date.today() + timedelta(days=FORGED_DAYS_AHEAD)
        if field.type == "datetime":
            return datetime.now().replace(microsecond=0) + timedelta(days=FORGED_DAYS_AHEAD)
        if field.type == "selection":
            values = [value for value, _label in field._description_selection(self.env)]
            return next(value for value in reversed(values) if value != current)
        if field.type == "many2one":
            comodel = self.env[field.comodel_name].sudo()
            own = {"res.users": attacker.ids, "res.company": attacker.company_ids.ids}
            if field.comodel_name == "res.users":
                # A decision "taken" by a credit manager.
                candidates = [*self.guard_roles.values()][::-1]
                return next(
                    user.id
                    for user in candidates
                    if user not in current and user != attacker and not user.share
                )
            excluded = [*current.ids, *own.get(field.comodel_name, [])]
            return comodel.search(
                [("id", "not in", excluded), *self._same_company(record, comodel, attacker)],
                limit=1,
            ).id
        if field.type == "many2many":
            comodel = self.env[field.comodel_name].sudo()
            other = comodel.search(
                [("id", "not in", current.ids), *self._same_company(record, comodel, attacker)],
                limit=1,
            )
            return [(6, 0, [*current.ids, *other.ids])]
        return None

    def _same_company(self, record, comodel, attacker):
        """A forged record of a company the attacker works in and of the record's
        when it is one of them: a record of another company is refused by the
        company check (check_company) before the guard is tried."""
        if "company_id" not in comodel._fields or "company_id" not in record._fields:
            return []
        companies = record.company_id & attacker.company_ids or attacker.company_ids
        return [("company_id", "in", [False, *companies.ids])]

    def _stored(self, record, field_name):
        record.invalidate_recordset([field_name])
        value = record.sudo()[field_name]
        field = record._fields[field_name]
        if field.type in ("many2one", "many2many", "one2many"):
            return tuple(sorted(value.ids))
        return value

    def _as_stored(self, record, field, forged):
        if field.type == "many2one":
            return (forged,) if forged else ()
        if field.type == "many2many":
            return tuple(sorted(forged[0][2]))
        return forged

    def _may_set(self, record, user, guard):
        if not guard.group or not any(
            user.has_group(group.strip()) for group in guard.group.split(",")
        ):
            return False
        # The condition is read as the user, whatever record rules let them read.
        return not (guard.when and getattr(record.with_user(user).sudo(), guard.when)())

    def _as(self, record, user):
        """record as user, in the companies the user works in (as over RPC)."""
        return record.with_user(user).with_context(allowed_company_ids=user.company_ids.ids)

    def _try(self, action, check=None):
        """Run action, then check(result), in a savepoint always rolled back:
        (what check returned, the exception action raised or None)."""
        value = error = None
        savepoint = self.env.cr.savepoint()
        try:
            result = action()
            self.env.flush_all()
            value = check(result) if check else bool(result)
        # Any refusal counts: which one it was is checked by the caller.
        except Exception as refusal:  # pylint: disable=broad-exception-caught
            error = refusal
        finally:
            savepoint.close(rollback=True)
            self.env.invalidate_all()
        return value, error

    def _attack_model(self, model_name, create_vals=None):
        """Every vector against every guarded field of model_name, as every role.

        :param create_vals: values a role may create a record with (defaults: the
            sample's copy_data), to tell a refusal of the forged field from any other
        :return: number of vectors where the forged value was refused
        """
        sample = self._guard_sample(model_name)
        guards = sample._credit_guards()
        base = create_vals if create_vals is not None else sample.copy_data()[0]
        base = {name: value for name, value in base.items() if name not in guards}
        refused = 0
        for role, user in self.guard_roles.items():
            baseline, _error = self._try(
                lambda user=user: self._as(self.env[model_name], user).create(dict(base))
            )
            for name, guard in guards.items():
                field = sample._fields[name]
                if field.type == "one2many":
                    continue
                forged = self._forged_value(sample, field, user)
                if forged is None:
                    continue
                expected = self._as_stored(sample, field, forged)
                may_set = self._may_set(sample, user, guard)
                with self.subTest(model=model_name, field=name, role=role):
                    refused += self._attack_write(sample, user, field, forged, expected, may_set)
                    if may_set or guard.on_create == "given":
                        continue
                    refused += self._attack_create(
                        model_name, user, field, forged, expected, base, baseline, guard
                    )
        return refused

    def _attack_write(self, sample, user, field, forged, expected, may_set):
        before = self._stored(sample, field.name)
        after, error = self._try(
            lambda: self._as(sample, user).write({field.name: forged}),
            lambda _result: self._stored(sample, field.name),
        )
        if may_set:
            if not error and after == expected:
                return 0
            # A role that may set the field can, unless the model refuses it for
            # another reason (access rights on the model).
            self.assertFalse(
                self._as(sample, user).has_access("write"),
                f"{user.login} may set {field.name} but the write failed: {error}",
            )
            return 0
        self.assertTrue(error, f"{user.login} wrote {field.name} without a refusal")
        self.assertIn(after, (None, before), f"{user.login} wrote {field.name} by RPC write")
        return 1

    def _attack_create(self, model_name, user, field, forged, expected, base, baseline, guard):
        """Values sent, default_ context key and copy defaults."""
        model = self._as(self.env[model_name], user)
        sample = self._guard_sample(model_name)
        vectors = {
            "create values": lambda: model.create({**base, field.name: forged}),
            "default_ context": lambda: model.with_context(
                **{f"default_{field.name}": forged}
            ).create(dict(base)),
            "copy default": lambda: self._as(sample, user).copy(default={field.name: forged}),
        }
        refused = 0
        for vector, action in vectors.items():
            stored, error = self._try(action, lambda record: self._stored(record, field.name))
            self.assertNotEqual(
                stored, expected, f"{user.login} set {model_name}.{field.name} through {vector}"
            )
            # A value sent for a computed field is recomputed (never stored): the
            # other fields must be refused.
            if (
                baseline
                and vector != "copy default"
                and guard.on_create == "default"
                and not field.compute
            ):
                self.assertIsInstance(
                    error,
                    AccessError,
                    f"{user.login} set {model_name}.{field.name} through {vector} unrefused",
                )
            refused += bool(error)
        return refused
