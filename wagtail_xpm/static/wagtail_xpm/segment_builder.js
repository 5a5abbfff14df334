/* The segment rule builder: nested all/any groups of rules, operators offered per field type,
   values offered from what was synced, a live count, a member preview and "why is this
   contact in or out". No build step; text only (never innerHTML with data). The rule tree is
   kept in the hidden input (JSON {"match", "rules"}) that the form saves. */
(function () {
    'use strict';

    var DEBOUNCE_MS = 250;
    var NO_VALUE = ['blank', 'not_blank'];
    var LIST_OPS = ['in', 'not_in'];
    var DAYS_OPS = ['within_next_days', 'within_last_days'];
    var DATE_OPS = ['before', 'after'];
    var ORDER_OPS = ['gt', 'gte', 'lt', 'lte'];

    // Words come from the app's JavaScript catalog (wagtail_xpm:javascript_catalog), which
    // every page using this script loads first: Django's gettext, ngettext, pgettext.
    var i18n = window.django;
    function interpolate(format, values) { return i18n.interpolate(format, values, true); }

    function el(tag, attrs, children) {
        var node = document.createElement(tag);
        Object.keys(attrs || {}).forEach(function (name) {
            var value = attrs[name];
            if (value === null || value === undefined || value === false) { return; }
            if (name === 'text') { node.textContent = value; }
            else if (name === 'className') { node.className = value; }
            else if (name.slice(0, 2) === 'on') { node.addEventListener(name.slice(2), value); }
            else { node.setAttribute(name, value === true ? '' : value); }
        });
        (children || []).forEach(function (child) {
            if (child === null || child === undefined) { return; }
            node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
        });
        return node;
    }

    function debounce(fn, ms) {
        var timer = null;
        return function () {
            window.clearTimeout(timer);
            timer = window.setTimeout(fn, ms);
        };
    }

    function isGroup(rule) {
        return rule && Object.prototype.hasOwnProperty.call(rule, 'rules');
    }

    function Builder(root) {
        this.root = root;
        this.form = root.closest('form');
        this.input = root.querySelector('[data-xpm-segment-definition]');
        this.tree = root.querySelector('[data-xpm-tree]');
        this.urls = {
            fields: root.getAttribute('data-fields-url'),
            count: root.getAttribute('data-count-url'),
            preview: root.getAttribute('data-preview-url'),
            explain: root.getAttribute('data-explain-url'),
            contacts: root.getAttribute('data-contacts-url')
        };
        var initial = {};
        try { initial = JSON.parse(this.input.value || '{}') || {}; } catch (e) { initial = {}; }
        this.state = {
            match: initial.match === 'any' ? 'any' : 'all',
            rules: Array.isArray(initial.rules) ? initial.rules : []
        };
        this.fields = {};
        this.fieldOrder = [];
        this.page = 1;
        this.sequence = 0;
        this.explaining = null;
        this.scheduleCount = debounce(this.refresh.bind(this), DEBOUNCE_MS);
        this.searchContacts = debounce(this.findContacts.bind(this), DEBOUNCE_MS);
        this.bind();
        this.loadFields();
    }

    Builder.prototype.connectionId = function () {
        // The practice chooser when the page has one, else the practice the form implies.
        var field = this.form && this.form.querySelector('select[name="connection"]');
        return (field && field.value) || this.input.getAttribute('data-connection') || '';
    };

    Builder.prototype.clientScope = function () {
        var checked = this.form && this.form.querySelector('[name="client_scope"]:checked');
        return checked ? checked.value : 'primary';
    };

    Builder.prototype.bind = function () {
        var self = this;
        if (!this.form) { return; }
        this.form.addEventListener('change', function (event) {
            var name = event.target.getAttribute('name');
            if (name === 'connection') { self.loadFields(); }
            if (name === 'client_scope') { self.changed(); }
        });
        var search = this.root.querySelector('[data-xpm-explain-search]');
        if (search) {
            search.addEventListener('input', function () { self.searchContacts(); });
            search.addEventListener('keydown', function (event) {
                if (event.key === 'Enter') { event.preventDefault(); self.findContacts(); }
            });
        }
        var prev = this.root.querySelector('[data-xpm-action="preview-prev"]');
        var next = this.root.querySelector('[data-xpm-action="preview-next"]');
        if (prev) { prev.addEventListener('click', function () { self.page -= 1; self.loadPreview(); }); }
        if (next) { next.addEventListener('click', function () { self.page += 1; self.loadPreview(); }); }
    };

    Builder.prototype.get = function (url, params) {
        var query = new URLSearchParams(params);
        return fetch(url + '?' + query.toString(), {
            credentials: 'same-origin',
            headers: { 'Accept': 'application/json', 'X-Requested-With': 'XMLHttpRequest' }
        }).then(function (response) {
            if (!response.ok) { throw new Error('HTTP ' + response.status); }
            return response.json();
        });
    };

    Builder.prototype.definition = function () {
        return JSON.stringify({
            match: this.state.match,
            rules: this.state.rules,
            client_scope: this.clientScope()
        });
    };

    Builder.prototype.loadFields = function () {
        var self = this;
        var connection = this.connectionId();
        if (!connection) { return; }
        this.get(this.urls.fields, { connection: connection }).then(function (data) {
            self.fields = {};
            self.fieldOrder = [];
            data.fields.forEach(function (field) {
                self.fields[field.key] = field;
                self.fieldOrder.push(field);
            });
            self.root.setAttribute('data-xpm-ready', 'true');
            self.render();
            self.changed();
        }).catch(function () {
            self.tree.replaceChildren(el('p', { className: 'help-block help-critical',
                text: i18n.gettext('The fields of this practice could not be loaded. Reload the page to try again.') }));
        });
    };

    // --- state -------------------------------------------------------------------------------

    Builder.prototype.changed = function () {
        // Only what the model keeps: match and rules (client_scope is a form field of its own).
        this.input.value = JSON.stringify({ match: this.state.match, rules: this.state.rules });
        this.page = 1;
        var count = this.root.querySelector('[data-xpm-count]');
        this.root.setAttribute('data-xpm-count-state', 'loading');
        if (count) { count.classList.add('xpm-builder__count--loading'); }
        this.scheduleCount();
    };

    Builder.prototype.defaultRule = function () {
        var field = this.fieldOrder.filter(function (f) { return !f.builtin; })[0] || this.fieldOrder[0];
        return this.resetRule({ field: field ? field.key : 'email' });
    };

    Builder.prototype.opsFor = function (field, current) {
        if (!field) { return []; }
        var offered = field.ops.filter(function (item) {
            return field.offered_ops.indexOf(item.op) !== -1 || item.op === current;
        });
        return offered.length ? offered : field.ops;
    };

    Builder.prototype.resetRule = function (rule) {
        var field = this.fields[rule.field];
        var ops = this.opsFor(field, null);
        rule.op = ops.length ? ops[0].op : 'eq';
        this.resetValue(rule);
        return rule;
    };

    Builder.prototype.resetValue = function (rule) {
        var field = this.fields[rule.field] || { type: 'text', values: [] };
        if (NO_VALUE.indexOf(rule.op) !== -1) { delete rule.value; return; }
        if (LIST_OPS.indexOf(rule.op) !== -1) {
            rule.value = Array.isArray(rule.value) ? rule.value : (rule.value ? [rule.value] : []);
            return;
        }
        if (DAYS_OPS.indexOf(rule.op) !== -1) {
            rule.value = typeof rule.value === 'number' ? rule.value : 30;
            return;
        }
        if (field.type === 'boolean' || field.type === 'flag') {
            rule.value = typeof rule.value === 'boolean' ? rule.value : true;
            return;
        }
        if (Array.isArray(rule.value)) { rule.value = rule.value[0] || ''; }
        if (rule.value === undefined || typeof rule.value === 'boolean') { rule.value = ''; }
    };

    // --- rendering ---------------------------------------------------------------------------

    Builder.prototype.render = function () {
        this.tree.replaceChildren(this.renderGroup(this.state, 0, null, null));
    };

    Builder.prototype.renderGroup = function (group, depth, parentList, index) {
        var self = this;
        var match = el('select', {
            'data-xpm-role': 'match', 'aria-label': i18n.gettext('Combine the rules with'),
            onchange: function (event) { group.match = event.target.value; self.changed(); }
        }, [
            el('option', { value: 'all', text: i18n.pgettext('rule group', 'all'), selected: group.match !== 'any' }),
            el('option', { value: 'any', text: i18n.pgettext('rule group', 'any'), selected: group.match === 'any' })
        ]);
        var head = el('div', { className: 'xpm-builder__head' }, [
            el('span', { text: depth === 0 ? i18n.pgettext('rule group', 'Contacts matching') : i18n.pgettext('rule group', 'Matching') }),
            match,
            el('span', { text: depth === 0 ? i18n.pgettext('rule group', 'of these rules') : i18n.pgettext('rule group', 'of') })
        ]);
        if (parentList) {
            head.appendChild(el('button', {
                type: 'button', className: 'button button-small button-secondary no xpm-builder__remove',
                'data-xpm-action': 'remove-group', text: i18n.gettext('Remove group'),
                onclick: function () { parentList.splice(index, 1); self.render(); self.changed(); }
            }));
        }
        var list = el('ul', { className: 'xpm-builder__rules' });
        group.rules.forEach(function (rule, position) {
            list.appendChild(isGroup(rule)
                ? el('li', { className: 'xpm-builder__nested', 'data-xpm-group': depth + 1 },
                    [self.renderGroup(rule, depth + 1, group.rules, position)])
                : self.renderRule(rule, group.rules, position));
        });
        if (!group.rules.length) {
            list.appendChild(el('li', { className: 'xpm-muted xpm-builder__empty',
                text: depth === 0 ? i18n.gettext('No rules yet: every contact of the practice (except archived ones).')
                    : i18n.gettext('An empty group matches nobody: add a rule.') }));
        }
        var actions = el('div', { className: 'xpm-builder__actions' }, [
            el('button', {
                type: 'button', className: 'button button-small button-secondary',
                'data-xpm-action': 'add-rule', text: i18n.gettext('+ Add rule'),
                onclick: function () { group.rules.push(self.defaultRule()); self.render(); self.changed(); }
            }),
            depth < 7 ? el('button', {
                type: 'button', className: 'button button-small button-secondary',
                'data-xpm-action': 'add-group', text: i18n.gettext('+ Add group'),
                onclick: function () {
                    group.rules.push({ match: 'any', rules: [self.defaultRule()] });
                    self.render();
                    self.changed();
                }
            }) : null
        ]);
        return el('div', { className: 'xpm-builder__group', 'data-xpm-depth': depth }, [head, list, actions]);
    };

    Builder.prototype.renderRule = function (rule, parentList, index) {
        var self = this;
        var row = el('li', { className: 'xpm-rule', 'data-xpm-rule': '' });
        var fieldSelect = el('select', {
            'data-xpm-role': 'field', 'aria-label': i18n.gettext('Field'),
            onchange: function (event) {
                rule.field = event.target.value;
                delete rule.value;
                self.resetRule(rule);
                row.replaceWith(self.renderRule(rule, parentList, index));
                self.changed();
            }
        });
        var groups = {};
        this.fieldOrder.forEach(function (field) {
            if (!groups[field.group]) {
                groups[field.group] = el('optgroup', { label: field.group });
                fieldSelect.appendChild(groups[field.group]);
            }
            groups[field.group].appendChild(el('option', {
                value: field.key, text: field.label, selected: field.key === rule.field
            }));
        });
        if (!this.fields[rule.field]) {
            fieldSelect.appendChild(el('option', {
                value: rule.field, text: interpolate(i18n.gettext('%(field)s (no longer mapped)'), { field: rule.field }), selected: true
            }));
        }
        var field = this.fields[rule.field];
        var opSelect = el('select', {
            'data-xpm-role': 'op', 'aria-label': i18n.gettext('Condition'),
            onchange: function (event) {
                rule.op = event.target.value;
                self.resetValue(rule);
                valueCell.replaceChildren(self.renderValue(rule));
                self.changed();
            }
        });
        this.opsFor(field, rule.op).forEach(function (item) {
            opSelect.appendChild(el('option', { value: item.op, text: item.label, selected: item.op === rule.op }));
        });
        var valueCell = el('div', { className: 'xpm-rule__value' }, [this.renderValue(rule)]);
        row.appendChild(fieldSelect);
        row.appendChild(opSelect);
        row.appendChild(valueCell);
        row.appendChild(el('button', {
            type: 'button', className: 'button button-small button-secondary no xpm-builder__remove',
            'data-xpm-action': 'remove-rule', 'aria-label': i18n.gettext('Remove rule'), text: '✕',
            onclick: function () { parentList.splice(index, 1); self.render(); self.changed(); }
        }));
        return row;
    };

    Builder.prototype.renderValue = function (rule) {
        var self = this;
        var field = this.fields[rule.field] || { type: 'text', values: [] };
        var values = field.values || [];
        function set(value) { rule.value = value; self.changed(); }

        if (NO_VALUE.indexOf(rule.op) !== -1) { return el('span'); }
        if (DAYS_OPS.indexOf(rule.op) !== -1) {
            return el('span', { className: 'xpm-rule__days' }, [
                el('input', {
                    type: 'number', min: '0', step: '1', value: String(rule.value),
                    'data-xpm-role': 'value', 'aria-label': i18n.gettext('Number of days'),
                    oninput: function (event) {
                        var n = parseInt(event.target.value, 10);
                        set(isNaN(n) ? 0 : n);
                    }
                }),
                el('span', { text: i18n.gettext('days') })
            ]);
        }
        if (field.type === 'boolean' || field.type === 'flag') {
            return el('select', {
                'data-xpm-role': 'value', 'aria-label': i18n.gettext('Value'),
                onchange: function (event) { set(event.target.value === 'true'); }
            }, [
                el('option', { value: 'true', text: i18n.gettext('Yes'), selected: rule.value === true }),
                el('option', { value: 'false', text: i18n.gettext('No'), selected: rule.value === false })
            ]);
        }
        if (LIST_OPS.indexOf(rule.op) !== -1) {
            if (values.length) {
                var chosen = (rule.value || []).map(String);
                var box = el('div', { className: 'xpm-builder__choices', 'data-xpm-role': 'value' });
                var all = values.slice();
                chosen.forEach(function (v) { if (all.indexOf(v) === -1) { all.push(v); } });
                all.forEach(function (value) {
                    box.appendChild(el('label', {}, [
                        el('input', {
                            type: 'checkbox', value: value, checked: chosen.indexOf(value) !== -1,
                            onchange: function () {
                                set(Array.prototype.map.call(
                                    box.querySelectorAll('input:checked'), function (i) { return i.value; }));
                            }
                        }),
                        ' ' + value
                    ]));
                });
                return box;
            }
            return el('input', {
                type: 'text', value: (rule.value || []).join(', '), 'data-xpm-role': 'value',
                placeholder: i18n.gettext('Values, separated by commas'), 'aria-label': i18n.gettext('Values'),
                oninput: function (event) {
                    set(event.target.value.split(',').map(function (v) { return v.trim(); })
                        .filter(function (v) { return v; }));
                }
            });
        }
        if (field.type === 'date' || DATE_OPS.indexOf(rule.op) !== -1) {
            return el('input', {
                type: 'date', value: rule.value || '', 'data-xpm-role': 'value', 'aria-label': i18n.gettext('Date'),
                oninput: function (event) { set(event.target.value); }
            });
        }
        if (field.type === 'number' || (ORDER_OPS.indexOf(rule.op) !== -1 && field.type !== 'date')) {
            return el('input', {
                type: 'number', step: 'any', value: rule.value === '' ? '' : String(rule.value),
                'data-xpm-role': 'value', 'aria-label': i18n.gettext('Number'),
                oninput: function (event) {
                    var n = parseFloat(event.target.value);
                    set(isNaN(n) ? event.target.value : n);
                }
            });
        }
        var pickable = (rule.op === 'eq' || rule.op === 'ne') && values.length && field.values_complete &&
            (field.type === 'choice' || field.type === 'month');
        if (pickable) {
            var select = el('select', {
                'data-xpm-role': 'value', 'aria-label': i18n.gettext('Value'),
                onchange: function (event) { set(event.target.value); }
            }, [el('option', { value: '', text: i18n.gettext('Choose…'), disabled: true, selected: !rule.value })]);
            var options = values.slice();
            if (rule.value && options.indexOf(rule.value) === -1) { options.unshift(rule.value); }
            options.forEach(function (value) {
                select.appendChild(el('option', { value: value, text: value, selected: value === rule.value }));
            });
            return select;
        }
        var listId = 'xpm-values-' + rule.field;
        var wrapper = el('span', {}, [el('input', {
            type: 'text', value: rule.value || '', list: values.length ? listId : null,
            'data-xpm-role': 'value', 'aria-label': i18n.gettext('Value'), autocomplete: 'off',
            oninput: function (event) { set(event.target.value); }
        })]);
        if (values.length && !document.getElementById(listId)) {
            var datalist = el('datalist', { id: listId });
            values.forEach(function (value) { datalist.appendChild(el('option', { value: value })); });
            this.root.appendChild(datalist);
        }
        return wrapper;
    };

    // --- live count and preview --------------------------------------------------------------

    Builder.prototype.refresh = function () {
        var self = this;
        var sequence = ++this.sequence;
        var connection = this.connectionId();
        if (!connection) { return; }
        var params = { connection: connection, definition: this.definition() };
        this.get(this.urls.count, params).then(function (data) {
            if (sequence !== self.sequence) { return; }
            self.showCount(data);
            if (data.ok) { self.loadPreview(); }
            if (self.explaining) { self.explain(self.explaining); }
        }).catch(function () {
            if (sequence !== self.sequence) { return; }
            self.showCount({ ok: false, errors: [i18n.gettext('The count could not be worked out just now.')] });
        });
    };

    Builder.prototype.showCount = function (data) {
        var count = this.root.querySelector('[data-xpm-count]');
        var label = this.root.querySelector('[data-xpm-count-label]');
        var reachable = this.root.querySelector('[data-xpm-reachable]');
        var errors = this.root.querySelector('[data-xpm-errors]');
        count.classList.remove('xpm-builder__count--loading');
        errors.replaceChildren();
        errors.hidden = true;
        if (!data.ok) {
            this.root.setAttribute('data-xpm-count-state', 'invalid');
            count.textContent = '–';
            label.textContent = i18n.gettext('Finish the rules to see who matches');
            reachable.textContent = '';
            (data.errors || []).forEach(function (text) {
                // Worded by the server for the editor: "Rule 2: “Account Manager is …” needs a value."
                errors.appendChild(el('li', { text: text }));
            });
            errors.hidden = false;
            return;
        }
        this.root.setAttribute('data-xpm-count-state', 'ready');
        count.textContent = data.count.toLocaleString();
        count.setAttribute('data-xpm-count', String(data.count));
        label.textContent = i18n.ngettext('contact matches', 'contacts match', data.count);
        reachable.textContent = '· ' + interpolate(
            i18n.ngettext('%(count)s can be emailed', '%(count)s can be emailed', data.reachable),
            { count: data.reachable.toLocaleString() }) +
            (data.archived_left_out ? ' · ' + interpolate(i18n.ngettext(
                '%(count)s archived contact left out', '%(count)s archived contacts left out',
                data.archived_left_out), { count: data.archived_left_out }) : '') +
            (data.bounced_left_out ? ' · ' + interpolate(i18n.ngettext(
                '%(count)s left out: bounced', '%(count)s left out: bounced',
                data.bounced_left_out), { count: data.bounced_left_out }) : '') +
            (data.complained_left_out ? ' · ' + interpolate(i18n.ngettext(
                '%(count)s left out: complained', '%(count)s left out: complained',
                data.complained_left_out), { count: data.complained_left_out }) : '');
    };

    Builder.prototype.loadPreview = function () {
        var self = this;
        var params = { connection: this.connectionId(), definition: this.definition(), page: this.page };
        this.get(this.urls.preview, params).then(function (data) {
            if (data.ok) { self.showPreview(data); }
        }).catch(function () {
            // Seeing members needs the right to see contacts; the count stays useful.
            self.root.querySelector('[data-xpm-preview]').replaceChildren(el('tbody', {}, [
                el('tr', {}, [el('td', { className: 'xpm-muted',
                    text: i18n.gettext('The members cannot be shown to you (it needs access to contacts).') })])
            ]));
        });
    };

    Builder.prototype.showPreview = function (data) {
        var self = this;
        var table = this.root.querySelector('[data-xpm-preview]');
        var head = el('tr', {}, [
            el('th', { scope: 'col', text: i18n.gettext('Contact') }),
            el('th', { scope: 'col', text: i18n.gettext('XPM client') })
        ]);
        data.columns.forEach(function (column) {
            head.appendChild(el('th', { scope: 'col', text: column.label }));
        });
        // The "Why?" buttons' column: named for screen readers, blank on screen.
        head.appendChild(el('th', { scope: 'col' }, [
            el('span', { className: 'w-sr-only', text: i18n.gettext('Explain') })
        ]));
        var body = el('tbody');
        data.rows.forEach(function (row) {
            var tr = el('tr', { 'data-xpm-member': row.id }, [
                el('td', {}, [
                    el('a', { href: row.url, text: row.name }),
                    row.subscribed ? null : el('span', { className: 'xpm-badge', text: i18n.gettext('unsubscribed') }),
                    el('div', { className: 'xpm-muted xpm-builder__email', text: row.email || i18n.gettext('no email') })
                ]),
                el('td', { text: row.client_name || '—' })
            ]);
            data.columns.forEach(function (column) {
                tr.appendChild(el('td', { text: row.values[column.key] }));
            });
            tr.appendChild(el('td', {}, [el('button', {
                type: 'button', className: 'button button-small button-secondary',
                text: i18n.gettext('Why?'), 'data-xpm-action': 'explain-member',
                onclick: function () { self.explain(row.id); }
            })]));
            body.appendChild(tr);
        });
        if (!data.rows.length) {
            body.appendChild(el('tr', {}, [el('td', { colspan: String(3 + data.columns.length),
                className: 'xpm-muted', text: i18n.gettext('Nobody matches these rules.') })]));
        }
        table.replaceChildren(el('thead', {}, [head]), body);
        var prev = this.root.querySelector('[data-xpm-action="preview-prev"]');
        var next = this.root.querySelector('[data-xpm-action="preview-next"]');
        var pageLabel = this.root.querySelector('[data-xpm-preview-page]');
        prev.disabled = data.page <= 1;
        next.disabled = !data.has_next;
        pageLabel.textContent = interpolate(i18n.gettext('Page %(page)s'), { page: data.page });
    };

    // --- explain ---------------------------------------------------------------------------------

    Builder.prototype.findContacts = function () {
        var self = this;
        var search = this.root.querySelector('[data-xpm-explain-search]');
        var results = this.root.querySelector('[data-xpm-explain-results]');
        var query = search.value.trim();
        if (!query) { results.replaceChildren(); return; }
        this.get(this.urls.contacts, { connection: this.connectionId(), q: query }).then(function (data) {
            results.replaceChildren.apply(results, data.contacts.map(function (contact) {
                return el('li', {}, [el('button', {
                    type: 'button', className: 'button button-small button-secondary',
                    'data-xpm-action': 'explain-contact',
                    onclick: function () { self.explain(contact.id); }
                }, [contact.name + (contact.email ? ' · ' + contact.email : '') +
                    (contact.client_name && contact.client_name !== contact.name
                        ? ' (' + contact.client_name + ')' : '')])]);
            }));
            if (!data.contacts.length) {
                results.appendChild(el('li', { className: 'xpm-muted', text: i18n.gettext('No contact found.') }));
            }
        });
    };

    Builder.prototype.explain = function (contactId) {
        var self = this;
        this.explaining = contactId;
        var params = { connection: this.connectionId(), definition: this.definition(), contact: contactId };
        this.get(this.urls.explain, params).then(function (data) {
            if (data.ok) { self.showExplanation(data); }
        }).catch(function () { self.explaining = null; });
    };

    Builder.prototype.showExplanation = function (data) {
        var self = this;
        var box = this.root.querySelector('[data-xpm-explain]');
        var verdict = el('p', { className: 'xpm-explain__verdict xpm-explain__verdict--' + (data.member ? 'in' : 'out'),
            'data-xpm-member': data.member ? 'in' : 'out' }, [
            el('span', { className: 'xpm-badge xpm-badge--' + (data.member ? 'ok' : 'error'),
                text: data.member ? i18n.pgettext('segment membership', 'In') : i18n.pgettext('segment membership', 'Out') }),
            ' ',
            el('a', { href: data.contact.url, text: data.contact.name }),
            ' — ' + data.summary.replace(data.contact.name + ' ', '')
        ]);
        function renderNode(node) {
            if (node.kind === 'group') {
                return el('li', { className: 'xpm-explain__group' }, [
                    el('span', { className: 'xpm-explain__mark xpm-explain__mark--' + (node.matched ? 'yes' : 'no'),
                        text: node.matched ? '✓' : '✗' }),
                    ' ' + (node.match === 'all' ? i18n.gettext('All of:') : i18n.gettext('Any of:')),
                    el('ul', {}, node.children.map(renderNode))
                ]);
            }
            var item = el('li', { 'data-xpm-explain-rule': node.path,
                'data-xpm-matched': node.matched ? 'true' : 'false' }, [
                el('span', { className: 'xpm-explain__mark xpm-explain__mark--' + (node.matched ? 'yes' : 'no'),
                    text: node.matched ? '✓' : '✗' }),
                ' ' + node.text,
                el('span', { className: 'xpm-muted', text: ' — ' + interpolate(i18n.gettext('their value: %(value)s'), { value: node.contact_value }) })
            ]);
            if (node.clients.length) {
                item.appendChild(el('ul', { className: 'xpm-explain__clients' }, node.clients.map(function (c) {
                    return el('li', {}, [
                        el('span', { className: 'xpm-explain__mark xpm-explain__mark--' + (c.matched && c.counted ? 'yes' : 'no'),
                            text: c.matched && c.counted ? '✓' : '✗' }),
                        ' ' + c.name + ': ' + c.value + (c.counted ? '' : ' ' + i18n.gettext('(archived: not counted)'))
                    ]);
                })));
            }
            return item;
        }
        var facts = el('p', { className: 'xpm-muted' }, [
            (data.contact.subscribed ? i18n.gettext('Subscribed') : i18n.gettext('Unsubscribed')) +
            (data.contact.is_archived ? ' · ' + i18n.gettext('archived in XPM') : '') +
            (data.contact.email ? '' : ' · ' + i18n.gettext('no email address'))
        ]);
        if (data.contact.subscription_url) {
            var token = this.form && this.form.querySelector('[name="csrfmiddlewaretoken"]');
            facts.appendChild(document.createTextNode(' '));
            facts.appendChild(el('button', {
                type: 'button', className: 'button button-small button-secondary',
                'data-xpm-action': data.contact.subscribed ? 'unsubscribe-contact' : 'resubscribe-contact',
                text: data.contact.subscribed ? i18n.gettext('Unsubscribe this contact') : i18n.gettext('Subscribe again'),
                onclick: function () {
                    var body = new URLSearchParams({ subscribed: data.contact.subscribed ? '0' : '1' });
                    fetch(data.contact.subscription_url, {
                        method: 'POST', credentials: 'same-origin', body: body,
                        headers: { 'X-CSRFToken': token ? token.value : '', 'Accept': 'application/json' }
                    }).then(function () { self.refresh(); });
                }
            }));
        }
        box.replaceChildren(verdict, facts, el('ul', { className: 'xpm-explain__tree' },
            data.root.children.map(renderNode)));
        box.hidden = false;
    };

    function init() {
        document.querySelectorAll('[data-xpm-builder]').forEach(function (root) {
            if (!root.xpmBuilder) { root.xpmBuilder = new Builder(root); }
        });
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', init);
    } else {
        init();
    }
}());
