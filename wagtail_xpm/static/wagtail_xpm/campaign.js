/* Live progress on a campaign's Send page: polls its JSON while it is sending, then reloads
   once to show the final report. Text only. */
(function () {
    'use strict';

    var POLL_MS = 1500;

    function start(page) {
        var url = page.getAttribute('data-progress-url');
        if (!url || page.getAttribute('data-active') !== 'true') { return; }
        function set(selector, text) {
            var node = page.querySelector(selector);
            if (node && node.textContent !== text) { node.textContent = text; }
        }
        function poll() {
            fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
                .then(function (response) { return response.json(); })
                .then(function (data) {
                    Object.keys(data.counts).forEach(function (name) {
                        set('[data-xpm-count="' + name + '"]', String(data.counts[name]));
                    });
                    set('[data-xpm-field="status_label"]', data.status_label);
                    set('[data-xpm-field="message"]', data.message || '');
                    var bar = page.querySelector('[data-xpm-progress-bar]');
                    var progress = page.querySelector('[data-xpm-progress]');
                    if (bar && data.percent !== null) {
                        bar.style.width = data.percent + '%';
                        progress.setAttribute('aria-valuenow', String(data.percent));
                    }
                    if (data.active) {
                        window.setTimeout(poll, POLL_MS);
                    } else {
                        window.location.reload();
                    }
                })
                .catch(function () { window.setTimeout(poll, POLL_MS * 2); });
        }
        window.setTimeout(poll, POLL_MS);
    }

    document.addEventListener('DOMContentLoaded', function () {
        document.querySelectorAll('[data-xpm-campaign]').forEach(start);
    });
}());
