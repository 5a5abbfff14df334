/* Field mapping form: when an XPM field is picked, suggest its label and key (unless the
   editor typed their own) and say how its values will be converted. */
(function () {
    'use strict';

    // Words come from the app's JavaScript catalog (wagtail_xpm:javascript_catalog), which
    // every page using this script loads first: Django's gettext, ngettext, pgettext.
    var i18n = window.django;
    function interpolate(format, values) { return i18n.interpolate(format, values, true); }

    function start() {
        var data = document.getElementById('xpm-mapping-options');
        var source = document.querySelector('[data-xpm-mapping-source]');
        var label = document.querySelector('[data-xpm-mapping-label]');
        var key = document.querySelector('[data-xpm-mapping-key]');
        var note = document.querySelector('[data-xpm-mapping-type]');
        if (!data || !source || !label || !key) { return; }
        var options = JSON.parse(data.textContent);
        if (note) {
            // Say what the pick means right under the field it describes.
            var holder = source.closest('.w-field__wrapper') || source.parentElement;
            holder.insertAdjacentElement('afterend', note);
        }
        // Only fill fields the editor has not typed into (or that still hold our suggestion).
        var initial = options[source.value];
        var suggested = initial ? { label: initial.label, key: initial.key } : { label: '', key: '' };

        function update() {
            var option = options[source.value];
            if (!option) {
                if (note) { note.hidden = true; }
                return;
            }
            if (!label.value || label.value === suggested.label) {
                label.value = option.label;
                suggested.label = option.label;
            }
            if (!key.value || key.value === suggested.key) {
                key.value = option.key;
                suggested.key = option.key;
            }
            if (note) {
                var text = interpolate(i18n.gettext('Values become: %(type)s.'), { type: option.type_note });
                if (option.choices.length) {
                    text += ' ' + interpolate(i18n.gettext('Choices: %(choices)s.'), {
                        choices: option.choices.slice(0, 12).join(', ') +
                            (option.choices.length > 12 ? ', …' : '')
                    });
                }
                if (option.custom) { text += ' ' + i18n.gettext('Costs one API call per changed client.'); }
                note.textContent = text;
                note.hidden = false;
            }
        }

        source.addEventListener('change', update);
        if (source.value) { update(); }
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
})();
