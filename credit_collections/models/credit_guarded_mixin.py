import json
from typing import NamedTuple

from odoo import api, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, clean_context

# The modules whose fields the guard owns (the registry test walks them).
GUARDED_MODULES = ("credit_collections", "credit_collections_stock")


class Guard(NamedTuple):
    """Who may set a guarded field, and how it gets its first value.

    - ``group``: xml id of the group whose users may set it (several separated by
      commas); None: only the system (code running under ``sudo()`` after it
      checked its caller).
    - ``when``: name of a method of the model returning, for the records it is
      called on, why the field cannot be set on them now (a sentence), or None.
    - ``on_create``: "default": a new record holds the field's own default
      (without context defaults, personal defaults, copied or imported values)
      unless its creator may set it; "captured": the model's ``create`` sets it
      from trusted data whatever is sent; "given": its creator chooses it. After
      creation, only who may set it changes it.
    """

    group: str | None = None
    when: str | None = None
    on_create: str = "default"


SYSTEM = Guard()
CAPTURED = Guard(on_create="captured")
# Chosen when the record is created, never changed afterwards.
ONCE = Guard(on_create="given")


class CreditGuardedMixin(models.AbstractModel):
    """One owner for the fields only the system or a decision may set.

    It judges the values records end with, whatever the path (values sent,
    ``default_*`` context keys, personal defaults, ``copy`` defaults and copied
    values, ``load`` imports, onchange results, related and inverse fields
    writing through): after ``create`` every guarded field holds its pristine
    value unless its creator may set it; on ``write`` a guarded field the user
    may not set keeps its value. A stored computed field holds its computation.
    Records of an audit trail (``_credit_audit_trail``) are append-only.
    """

    _name = "credit.guarded.mixin"
    _description = "Credit & Collections Guarded Fields"

    # An audit trail: every field is the system's, records are never deleted by hand.
    _credit_audit_trail = False
    # Configuration: every field not guarded is set by whoever may edit the model.
    _credit_configuration = False

    # ------------------------------------------------------------------
    # What a model declares
    # ------------------------------------------------------------------

    def _credit_guarded_fields(self):
        """{field name: Guard} of the fields only the system or a decision sets."""
        if self._credit_audit_trail:
            return {
                name: SYSTEM
                for name, field in self._fields.items()
                if field.store and getattr(field, "_module", None) in GUARDED_MODULES
            }
        return {}

    def _credit_free_fields(self):
        """Stored fields of the addon that users set with the model's normal access
        rights (the registry test requires every field to be in one of the two)."""
        if self._credit_configuration:
            return {
                name
                for name, field in self._fields.items()
                if field.store and getattr(field, "_module", None) in GUARDED_MODULES
            } - set(self._credit_guarded_fields())
        return set()

    def _credit_guard_hint(self):
        """What to do instead of setting a guarded field by hand."""
        return self.env._("Use the buttons of the %(model)s.", model=self._description)

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        guards = self._credit_guards()
        if not guards:
            return super().create(vals_list)
        if self.env.su:
            # The system sets its fields in the values it sends: a context default
            # is the caller's, whoever elevated afterwards.
            return super(CreditGuardedMixin, self._credit_guard_without_defaults()).create(
                vals_list
            )
        records = super().create(vals_list)
        records._credit_guard_check_created(guards)
        return records

    def write(self, vals):
        guards = self._credit_guards()
        if not guards or self.env.su or not self:
            return super().write(vals)
        watched = self._credit_guard_watched(guards, vals)
        refused = self._credit_guard_refusals(watched)
        # Refused before writing when the values say it (constraints would
        # answer first otherwise), after writing for what writes through.
        self._credit_guard_raise(self._credit_guard_sent(refused, vals), refused)
        before = self._credit_guard_snapshot(refused)
        result = super().write(vals)
        forged = self._credit_guard_compare(before)
        forged |= self._credit_guard_check_computed(
            guards, [name for name in vals if name in guards]
        )
        self._credit_guard_raise(forged, refused)
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_audit_trail(self):
        if self._credit_audit_trail and not self.env.su:
            raise AccessError(
                self.env._(
                    "%(model)s records are an audit trail: they are never deleted. Record a "
                    "correction instead.",
                    model=self._description,
                )
            )

    @api.model
    def _credit_guard_capture(self, vals, captured):
        """Update vals with what the model's create captured from trusted data,
        refusing a different value the caller sent for a field it may not set.

        :param vals: the values of one record being created
        :param captured: {field name: value} the model takes whatever is sent
        """
        if not self.env.su:
            guards = self._credit_guards()
            forged = {
                name
                for name, value in captured.items()
                if name in vals
                and name in guards
                and not self._credit_guard_may_set(guards[name])
                and self._credit_guard_differs(name, vals[name], value)
            }
            self._credit_guard_raise(
                forged, {name: {0: self._credit_guard_who(guards[name])} for name in forged}
            )
        vals.update(captured)
        return vals

    def _credit_guard_differs(self, name, sent, captured):
        field = self._fields[name]
        return field.convert_to_cache(sent, self, validate=False) != field.convert_to_cache(
            captured, self, validate=False
        )

    # ------------------------------------------------------------------
    # The check
    # ------------------------------------------------------------------

    def _credit_guards(self):
        return {
            name: guard
            for name, guard in self._credit_guarded_fields().items()
            if name in self._fields and self._fields[name].store
        }

    def _credit_guard_may_set(self, guard):
        """Whether the current (real) user may set a field with this guard."""
        if self.env.user._is_superuser():
            return True
        return bool(guard.group) and any(
            self.env.user.has_group(group.strip()) for group in guard.group.split(",")
        )

    def _credit_guard_without_defaults(self):
        """self without the context defaults of fields its user may not set."""
        guards = self._credit_guards()
        forged = {
            key
            for key in self.env.context
            if key.startswith("default_")
            and key[8:] in guards
            and guards[key[8:]].on_create == "default"
            and not self._credit_guard_may_set(guards[key[8:]])
        }
        if not forged:
            return self
        # A whole new context: keyword arguments cannot remove keys.
        return self.with_context(  # pylint: disable=context-overridden
            {key: value for key, value in self.env.context.items() if key not in forged}
        )

    def _credit_guard_watched(self, guards, vals):
        """Stored, not computed, guarded fields the write may change: the ones it
        names, and all of them when it writes a field with an inverse (related
        fields and inverses write elsewhere than their own column)."""
        plain = {name for name, guard in guards.items() if not self._fields[name].compute}
        through = any(
            self._fields[name].inverse
            for name in vals
            if name in self._fields and name not in plain
        )
        return plain if through else plain & set(vals)

    def _credit_guard_refusals(self, field_names):
        """{field name: {record id: why}} of the watched fields the user may not
        change on each record of self, decided before the write."""
        guards = self._credit_guards()
        refusals = {}
        for name in field_names:
            guard = guards[name]
            if not self._credit_guard_may_set(guard):
                why = self._credit_guard_who(guard)
                refusals[name] = dict.fromkeys(self.ids, why)
            elif guard.when:
                reasons = {record.id: getattr(record, guard.when)() for record in self}
                refused = {record_id: why for record_id, why in reasons.items() if why}
                if refused:
                    refusals[name] = refused
        return refusals

    def _credit_guard_who(self, guard):
        if not guard.group:
            return self.env._("set by Credit & Collections itself, never by hand")
        # sudo: the names of the groups the refusal names, which anyone refused may read.
        groups = ", ".join(
            self.env.ref(group.strip()).sudo().full_name for group in guard.group.split(",")
        )
        return self.env._("set only by users of %(groups)s", groups=groups)

    def _credit_guard_sent(self, refusals, vals):
        """Refused fields vals would change on some of their records."""
        # sudo: the guard judges the values records hold, including fields the user may not read.
        records = self.sudo()
        return {
            name
            for name, record_ids in refusals.items()
            if name in vals
            and any(
                self._fields[name].convert_to_cache(vals[name], record)
                != self._fields[name].convert_to_cache(record[name], record)
                for record in records.browse(list(record_ids))
            )
        }

    def _credit_guard_snapshot(self, refusals):
        """{(field name, record id): comparable value} of what may not change."""
        # sudo: the guard judges the values records hold, including fields the user may not read.
        records = self.sudo()
        return {
            (name, record.id): _comparable(self._fields[name], record[name])
            for name, record_ids in refusals.items()
            for record in records.browse(list(record_ids))
        }

    def _credit_guard_compare(self, before):
        # sudo: the guard judges the values records hold, including fields the user may not read.
        records = self.sudo()
        return {
            name
            for (name, record_id), value in before.items()
            if _comparable(self._fields[name], records.browse(record_id)[name]) != value
        }

    def _credit_guard_check_computed(self, guards, field_names):
        """Guarded stored computed fields among field_names whose value on self is
        not their computation (a value sent for a computed field is kept by the
        ORM): they are recomputed, and returned when they differed."""
        forged = set()
        # sudo: the guard judges the values records hold, including fields the user may not read.
        records = self.sudo()
        for name in field_names:
            field = self._fields[name]
            if not field.compute or self._credit_guard_may_set(guards[name]):
                continue
            sent = {record.id: _comparable(field, record[name]) for record in records}
            self.env.add_to_compute(field, records)
            if any(_comparable(field, record[name]) != sent[record.id] for record in records):
                forged.add(name)
        return forged

    def _credit_guard_pristine(self, field_names):
        """{field name: value} of what a new record holds when nobody sets the
        field: the model's default, or a default a settings administrator set for
        everyone (ir.default), never a context or a personal default."""
        model = self.with_context(clean_context(self.env.context))
        # The defaults of everyone in this company: a personal default is the user's own.
        self.env.cr.execute(
            SQL(
                """
                SELECT f.name, d.json_value
                  FROM ir_default d
                  JOIN ir_model_fields f ON d.field_id = f.id
                 WHERE f.model = %s AND f.name IN %s AND d.user_id IS NULL
                   AND d.condition IS NULL AND (d.company_id IS NULL OR d.company_id = %s)
                 ORDER BY d.company_id NULLS FIRST, d.id
                """,
                self._name,
                tuple(field_names),
                self.env.company.id,
            )
        )
        # The company's own default wins over the one for every company.
        shared = dict(self.env.cr.fetchall())
        defaults = {}
        for name in field_names:
            field = self._fields[name]
            if not field.company_dependent and name in shared:
                defaults[name] = json.loads(shared[name])
            elif field.default:
                defaults[name] = field.default(model)
            elif name in shared:
                defaults[name] = json.loads(shared[name])
            else:
                defaults[name] = False
        return defaults

    def _credit_guard_check_created(self, guards):
        """After create: refuse the guarded values the creator may not set."""
        checked = {
            name: guard
            for name, guard in guards.items()
            if guard.on_create == "default" and not self._fields[name].compute
        }
        refusals = {}
        for name, guard in checked.items():
            if not self._credit_guard_may_set(guard):
                refusals[name] = dict.fromkeys(self.ids, self._credit_guard_who(guard))
            elif guard.when:
                refused = {record.id: getattr(record, guard.when)() for record in self}
                refused = {record_id: why for record_id, why in refused.items() if why}
                if refused:
                    refusals[name] = refused
        pristine = self._credit_guard_pristine(list(refusals)) if refusals else {}
        # sudo: the guard judges the values records hold, including fields the user may not read.
        records = self.sudo()
        forged = set()
        for name, record_ids in refusals.items():
            field = self._fields[name]
            expected = _comparable(
                field,
                field.convert_to_record(
                    field.convert_to_cache(pristine[name], records[:1], validate=False),
                    records[:1],
                ),
            )
            if any(
                _comparable(field, records.browse(record_id)[name]) != expected
                for record_id in record_ids
            ):
                forged.add(name)
        forged |= self._credit_guard_check_computed(guards, list(guards))
        self._credit_guard_raise(forged, refusals)

    def _credit_guard_raise(self, forged, refusals):
        if not forged:
            return
        names = sorted(forged, key=list(self._fields).index)
        labels = ", ".join(self._fields[name].get_description(self.env)["string"] for name in names)
        whys = {why for name in names for why in refusals.get(name, {}).values()} or {
            self.env._("computed by Credit & Collections, never set by hand")
        }
        raise AccessError(
            self.env._(
                "%(fields)s of %(model)s: %(why)s. %(hint)s",
                fields=labels,
                model=self._description,
                why="; ".join(sorted(whys)),
                hint=self._credit_guard_hint(),
            )
        )


def _comparable(field, value):
    """A value of field, as read on a record, in a form equal values share."""
    if field.type in ("many2one", "one2many", "many2many"):
        return tuple(sorted(value.ids))
    if field.type in ("float", "monetary", "integer"):
        return round(value or 0, 6)
    return value or False
