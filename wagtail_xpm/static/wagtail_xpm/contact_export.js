/* A background contacts export: polls its status JSON every second until it is written, then
   shows the download link. Plain browser JavaScript, text only (never innerHTML). */
(function () {
    'use strict';

    var POLL_MS = 1000;
    var RETRY_MS = 3000;

    function start(card) {
        var url = card.getAttribute('data-xpm-status-url');
        var bar = card.querySelector('[data-xpm-progress-bar]');
        var progress = card.querySelector('[data-xpm-progress]');
        var download = card.querySelector('[data-xpm-download]');
        var messageBox = card.querySelector('[data-xpm-message]');

        function text(name, value) {
            var element = card.querySelector('[data-xpm-field="' + name + '"]');
            if (element && value !== undefined && element.textContent !== value) {
                element.textContent = value;
            }
        }

        function render(data) {
            text('status_label', data.status_label);
            bar.style.width = data.percent + '%';
            progress.setAttribute('aria-valuenow', String(data.percent));
            if (data.message) {
                text('message', data.message);
                messageBox.hidden = false;
            }
            if (data.download_url) {
                download.setAttribute('href', data.download_url);
                download.hidden = false;
                text('line', card.getAttribute('data-xpm-ready-text'));
            }
        }

        function poll() {
            fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
                .then(function (response) {
                    if (!response.ok) { throw new Error(String(response.status)); }
                    return response.json();
                })
                .then(function (data) {
                    render(data);
                    if (!data.finished) { window.setTimeout(poll, POLL_MS); }
                })
                .catch(function () { window.setTimeout(poll, RETRY_MS); });
        }

        if (card.getAttribute('data-xpm-finished') !== 'true') { poll(); }
    }

    document.addEventListener('DOMContentLoaded', function () {
        Array.prototype.forEach.call(document.querySelectorAll('[data-xpm-export]'), start);
    });
}());
