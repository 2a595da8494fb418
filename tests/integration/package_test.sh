#!/usr/bin/env bash
# The Debian package (ops/package, CPack): installed with dpkg on this machine,
# its files where they belong (binary, /etc/recur config and rules as
# conffiles, the systemd unit, docs with the --help texts), its own system user
# owning /var/lib/recur; the installed binary's --version, and a short `run`
# of it as that user against the test broker that applies what was produced;
# then `dpkg -r` (config kept) and `dpkg -P` (config, state and user gone).
# Needs root (exit 77: skipped otherwise); refuses to touch a recur package
# that was installed before it.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "needs root for dpkg: skipped"; exit 77; }
if dpkg -s recur >/dev/null 2>&1; then echo "a recur package is installed already: skipped"; exit 77; fi
trap 'rc=$?; dpkg -P recur >/dev/null 2>&1 || true; (exit $rc); cleanup' EXIT

deb=$("$ROOT/ops/package")
[[ -f "$deb" ]] || fail "ops/package made no .deb ($deb)"
log "package: $deb"
dpkg-deb -f "$deb" Depends | grep -q "librdkafka1.*libxgboost0" || fail "Depends lacks the shared libraries: $(dpkg-deb -f "$deb" Depends)"
dpkg -i "$deb" >"$WORK/dpkg.log" 2>&1 || fail "dpkg -i: $(tail -5 "$WORK/dpkg.log")"

for f in /usr/bin/recur /etc/recur/recur.conf /etc/recur/rules.txt /lib/systemd/system/recur.service \
  /usr/share/doc/recur/README.md /usr/share/doc/recur/recur-help.txt; do
  [[ -f $f ]] || fail "$f not installed"
done
grep -q '^ExecStart=/usr/bin/recur --config /etc/recur/recur.conf run$' /lib/systemd/system/recur.service \
  || fail "the unit does not run recur run with the config"
grep -q '^User=recur$' /lib/systemd/system/recur.service || fail "the unit does not run as user recur"
grep -q "=== recur run --help" /usr/share/doc/recur/recur-help.txt || fail "no run --help in the docs"
grep -q -- "--http" /usr/share/doc/recur/recur-help.txt || fail "run --help lacks --http"
dpkg-query -W -f='${Conffiles}\n' recur | grep -q /etc/recur/recur.conf || fail "recur.conf is not a conffile"
getent passwd recur >/dev/null || fail "no recur user"
[[ $(stat -c %U /var/lib/recur) == recur ]] || fail "/var/lib/recur is not owned by recur"
cmp <(/usr/bin/recur --version) <("$RECUR" --version) || fail "installed --version differs from the build's"

start_broker 19760
create_input_topics 2
"$RECUR" simulate --shops 1 --customers 30 --days 20 --seed 3 --duplicate-rate 0 --late-rate 0 -o "$WORK/events.jsonl" 2>/dev/null
"$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" 2>/dev/null
n=$(wc -l <"$WORK/events.jsonl")
# The installed binary as the package's user, with the installed config
# (brokers, state and http overridden on the command line).
runuser -u recur -- /usr/bin/recur --config /etc/recur/recur.conf run --brokers "$BROKER" \
  --state-dir /var/lib/recur/state --http 127.0.0.1:19764 --exit-when-idle-ms 2000 \
  >"$WORK/run.out" 2>"$WORK/run.log" || fail "installed recur run failed: $(tail -5 "$WORK/run.log")"
grep -q "\"applied\":$n," "$WORK/run.out" || fail "installed recur applied not $n: $(cat "$WORK/run.out")"
grep -q "HTTP API at http://127.0.0.1:19764" "$WORK/run.log" || fail "the HTTP API did not start"
[[ $(stat -c %U /var/lib/recur/state) == recur ]] || fail "the state is not the recur user's"
log "installed recur run applied $n events as user recur"

dpkg -r recur >"$WORK/dpkg.log" 2>&1 || fail "dpkg -r: $(tail -5 "$WORK/dpkg.log")"
[[ ! -e /usr/bin/recur ]] || fail "/usr/bin/recur left after dpkg -r"
[[ -f /etc/recur/recur.conf ]] || fail "dpkg -r removed the configuration (a conffile stays until purge)"
dpkg -P recur >"$WORK/dpkg.log" 2>&1 || fail "dpkg -P: $(tail -5 "$WORK/dpkg.log")"
[[ ! -e /etc/recur ]] || fail "/etc/recur left after purge"
[[ ! -e /var/lib/recur ]] || fail "/var/lib/recur left after purge"
! getent passwd recur >/dev/null || fail "the recur user is left after purge"
! dpkg -s recur >/dev/null 2>&1 || fail "dpkg still knows recur"
log "OK"
