/* Live progress for XPM sync runs: polls the run's JSON once a second until it finishes.
   No build step: plain browser JavaScript, text only (never innerHTML with run data). */
(function () {
    'use strict';

    var POLL_MS = 1000;
    var RETRY_MS = 3000;
    var TONES = ['ok', 'warn', 'error', 'neutral'];

    // Words come from the app's JavaScript catalog (wagtail_xpm:javascript_catalog), which
    // every page using this script loads first: Django's gettext, ngettext, pgettext.
    var i18n = window.django;
    function interpolate(format, values) { return i18n.interpolate(format, values, true); }

    function field(card, name) {
        return card.querySelector('[data-xpm-field="' + name + '"]');
    }

    function setText(element, text) {
        if (element && element.textContent !== text) {
            element.textContent = text;
        }
    }

    function phaseLine(data) {
        if (data.finished) {
            var parts = [];
            if (data.duration) {
                parts.push(interpolate(i18n.gettext('Took %(duration)s'), { duration: data.duration }));
            }
            parts.push(interpolate(i18n.ngettext('%(count)s API call', '%(count)s API calls', data.api_calls),
                { count: data.api_calls }));
            parts.push(interpolate(i18n.gettext('%(size)s downloaded'), { size: data.downloaded }));
            if (data.day_calls_remaining !== null) {
                parts.push(interpolate(i18n.gettext('%(left)s left today'), { left: data.day_calls_remaining }));
            }
            return parts.join(' · ');
        }
        return data.phase_detail || '';
    }

    function render(card, data) {
        var badge = field(card, 'status_label');
        setText(badge, data.status_label);
        if (badge) {
            TONES.forEach(function (tone) { badge.classList.remove('xpm-badge--' + tone); });
            badge.classList.add('xpm-badge--' + data.tone);
        }
        setText(field(card, 'headline'), data.headline);
        setText(field(card, 'phase_line'), phaseLine(data));
        setText(field(card, 'clients_seen'), String(data.clients_seen));
        Object.keys(data.counts).forEach(function (name) {
            setText(card.querySelector('[data-xpm-count="' + name + '"]'), String(data.counts[name]));
        });

        var progress = card.querySelector('[data-xpm-progress]');
        var bar = card.querySelector('[data-xpm-progress-bar]');
        if (progress && bar) {
            var known = data.percent !== null;
            progress.classList.toggle('xpm-progress--indeterminate', !known && !data.finished);
            if (known) {
                progress.setAttribute('aria-valuenow', String(data.percent));
            } else {
                progress.removeAttribute('aria-valuenow');
            }
            bar.style.width = (known ? data.percent : 0) + '%';
            TONES.forEach(function (tone) { bar.classList.remove('xpm-progress__bar--' + tone); });
            bar.classList.add('xpm-progress__bar--' + data.tone);
        }

        var message = card.querySelector('[data-xpm-message]');
        if (message) {
            message.hidden = !data.message;
            message.classList.toggle('help-critical', data.tone === 'error');
            message.classList.toggle('help-warning', data.tone !== 'error');
            setText(field(card, 'message'), data.message || '');
        }
        var errors = card.querySelector('[data-xpm-errors]');
        if (errors) {
            errors.hidden = data.errors.length === 0;
            if (errors.children.length !== data.errors.length) {
                errors.replaceChildren.apply(errors, data.errors.map(function (text) {
                    var item = document.createElement('li');
                    item.textContent = text;
                    return item;
                }));
            }
        }
        var detail = card.querySelector('[data-xpm-detail]');
        if (detail) { detail.hidden = !data.finished; }

        var wasFinished = card.dataset.xpmFinished === 'true';
        card.dataset.xpmRunStatus = data.status;
        card.dataset.xpmFinished = data.finished ? 'true' : 'false';
        if (data.finished) {
            document.querySelectorAll('[data-xpm-sync-form] button').forEach(function (button) {
                button.disabled = false;
            });
            if (!wasFinished) { refreshPage(); }
        }
    }

    // A run that finished while the page watched it changed more than its own card: the
    // recent runs table, the calls left today, the last sync, this month's downloads. The
    // page itself is fetched again and those parts ([data-xpm-refresh]) are swapped for the
    // new ones, as the server rendered (and escaped) them.
    function refreshPage() {
        var parts = document.querySelectorAll('[data-xpm-refresh]');
        if (!parts.length) { return; }
        fetch(window.location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
            .then(function (response) {
                if (!response.ok) { throw new Error('HTTP ' + response.status); }
                return response.text();
            })
            .then(function (html) {
                var fresh = new DOMParser().parseFromString(html, 'text/html');
                parts.forEach(function (part) {
                    var name = part.getAttribute('data-xpm-refresh');
                    var replacement = fresh.querySelector('[data-xpm-refresh="' + name + '"]');
                    if (replacement) { part.replaceWith(document.importNode(replacement, true)); }
                });
                document.dispatchEvent(new CustomEvent('xpm:page-refreshed'));
            })
            .catch(function () {
                // The page still shows the run's own card, which is up to date.
            });
    }

    function poll(card) {
        var url = card.dataset.xpmProgressUrl;
        fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
            .then(function (response) {
                if (!response.ok) { throw new Error('HTTP ' + response.status); }
                return response.json();
            })
            .then(function (data) {
                render(card, data);
                if (!data.finished) { window.setTimeout(function () { poll(card); }, POLL_MS); }
            })
            .catch(function () {
                // A dropped request (server restart, network blip) is retried, more slowly.
                window.setTimeout(function () { poll(card); }, RETRY_MS);
            });
    }

    function start() {
        document.querySelectorAll('[data-xpm-run]').forEach(function (card) {
            if (card.dataset.xpmProgressUrl && card.dataset.xpmFinished !== 'true') {
                poll(card);
            }
        });
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
})();
