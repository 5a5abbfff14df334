#!/usr/bin/env bash
# make demo: migrate, start the XPM sandbox, serve the site with a Huey consumer, connect the
# site through the real OAuth flow (consent page included), run a first sync, keep serving.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DEMO_PORT=${DEMO_PORT:-8000}
SANDBOX_PORT=${SANDBOX_PORT:-8765}
# The mail catcher's SMTP port (its emails are shown by the sandbox at /_sandbox/mail/).
MAIL_PORT=${MAIL_PORT:-$((SANDBOX_PORT + 1))}
DEMO_USER=${DEMO_USER:-admin}
DEMO_PASSWORD=${DEMO_PASSWORD:-xpm-demo-admin}
export XPM_SANDBOX_URL="http://127.0.0.1:${SANDBOX_PORT}"
export WAGTAILADMIN_BASE_URL="http://127.0.0.1:${DEMO_PORT}"
# Every email of the demo (campaigns, tests, confirmations, notifications) goes to the catcher.
export EMAIL_HOST=127.0.0.1 EMAIL_PORT="$MAIL_PORT"
mkdir -p var

pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_for() {  # url, name, pid, log: the server we started (not another one) answers
    for _ in $(seq 1 150); do
        if ! kill -0 "$3" 2>/dev/null; then
            echo "$2 stopped while starting. The end of $4:" >&2
            tail -n 15 "$4" >&2
            exit 1
        fi
        if $PY -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "$2 did not answer at $1 within 30 seconds; see $4" >&2
    exit 1
}

# Both ports must be free before anything starts (an earlier demo may still be running).
$PY scripts/demo_ports.py "$DEMO_PORT:DEMO_PORT" "$SANDBOX_PORT:SANDBOX_PORT" "$MAIL_PORT:MAIL_PORT" || exit 1

echo "==> Migrating the database"
$PY manage.py migrate --noinput >/dev/null
$PY manage.py demo_user --username "$DEMO_USER" --password "$DEMO_PASSWORD"
# Links in emails, Slack and XPM leads are built from the Site: make it the address served.
$PY manage.py demo_site --url "http://127.0.0.1:${DEMO_PORT}"

echo "==> Starting the XPM sandbox on $XPM_SANDBOX_URL and a mail catcher on SMTP port $MAIL_PORT (log: var/sandbox.log)"
$PY manage.py xpm_sandbox --port "$SANDBOX_PORT" --clients 25 --seed 1 --state var/sandbox-state.json \
    --smtp-port "$MAIL_PORT" --mail-dir var/mail >var/sandbox.log 2>&1 &
pids+=($!)
wait_for "$XPM_SANDBOX_URL/_sandbox/" "The sandbox" "$!" var/sandbox.log

echo "==> Starting the site on http://127.0.0.1:${DEMO_PORT} and a Huey consumer (logs: var/web.log, var/huey.log)"
$PY manage.py runserver "127.0.0.1:${DEMO_PORT}" --noreload >var/web.log 2>&1 &
web_pid=$!
pids+=($web_pid)
$PY manage.py run_huey >var/huey.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:${DEMO_PORT}/" "The site" "$web_pid" var/web.log

echo "==> Connecting the site to the sandbox practice through Xero's OAuth flow"
$PY -m example_site.demo_connect --base "http://127.0.0.1:${DEMO_PORT}" \
    --username "$DEMO_USER" --password "$DEMO_PASSWORD"

echo "==> Sharing opt-outs with the practice's \"Marketing opt-out\" contact checkbox"
$PY manage.py demo_opt_out

echo "==> Website enquiries go to Jo Bloggs, picked from the practice's XPM staff"
# The leads section of the configuration document (docs/leads.md); the Xero Practice
# Manager settings page changes it.
echo '{"version": 1, "leads": {"owner": "Jo Bloggs"}}' | $PY manage.py xpm_config import -

echo "==> First sync of XPM clients and contacts into the CRM"
$PY manage.py xpm_sync

cat <<MSG

  Site:     http://127.0.0.1:${DEMO_PORT}/
  Admin:    http://127.0.0.1:${DEMO_PORT}/admin/xpm/   (login: ${DEMO_USER} / ${DEMO_PASSWORD})
  Sandbox:  ${XPM_SANDBOX_URL}/_sandbox/
  Mail:     ${XPM_SANDBOX_URL}/_sandbox/mail/   (every email the site sends; SMTP 127.0.0.1:${MAIL_PORT})
  Contacts: ${XPM_SANDBOX_URL}/_sandbox/contacts   (tick a contact's "Marketing opt-out" as XPM staff would)

  Press Ctrl+C to stop.
MSG
wait -n "${pids[@]}"
