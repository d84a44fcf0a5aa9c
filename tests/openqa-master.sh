#!/bin/sh
# openqa-master.sh - openQA git master (web UI + REST API) on Debian 12 beside the openqa 4.6 package, for the
# integration tests (tests/openqa-server calls it when OPENQA_TEST_VERSION=master). Derived from the recipe in
# ../shared/openqa-master/openqa-master.sh (relative to the repository root). The master tree comes from
# tests/vendor/openqa-master-*.tar.gz (GPL-2.0-or-later, see tests/vendor/README.md), so a fresh clone works.
#   * code in /opt/openqa-master (a `git archive` of master), newer/missing Perl modules unpacked from .debs
#     (bookworm + bookworm-backports, `apt-get download` + `dpkg -x`, never installed) into
#     /opt/openqa-master/perl-root, put first in PERL5LIB;
#   * own config dir (OPENQA_CONFIG=/opt/openqa-master/etc), own data dir (OPENQA_BASEDIR=/opt/openqa-master/data),
#     own database `master_qa` (owner geekotest) in the PostgreSQL cluster of the 4.6 package;
#   * listens on 127.0.0.1:9600 only; /etc/openqa, port 9526, database `openqa` and the system Perl stay untouched.
#
#   tests/openqa-master.sh export    # unpack the master tarball into /opt/openqa-master
#   tests/openqa-master.sh install   # .debs, sass, npm ci, web assets, config, database + schema (idempotent)
#   tests/openqa-master.sh start     # web UI as geekotest, waits for the API, creates the Fake auth users
#   tests/openqa-master.sh stop      # stops the web UI (by pid file); PostgreSQL is shared and stays up
#   tests/openqa-master.sh status
#   tests/openqa-master.sh reset     # stop, drop + recreate the database with master's schema, start
#   tests/openqa-master.sh installed # exit 0 if export + install were done
#
# Environment: OPENQA_MASTER_SRC (directory with openqa-master-*.tar.gz; default ../shared/openqa-master
# relative to the repository root when it has one, else tests/vendor), OPENQA_GIT_DIR (export from a git dir
# instead), OPENQA_MASTER_DIR
# (default /opt/openqa-master), OPENQA_MASTER_PORT (9600), OPENQA_MASTER_DB (master_qa).
#
# API credentials after `start` (Fake auth): Demo (admin) key 1234567890ABCDEF secret 1234567890ABCDEF;
# tests/openqa-server adds the test keys (admin/operator/user/expired) on top.
set -eu

M="${OPENQA_MASTER_DIR:-/opt/openqa-master}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC="${OPENQA_MASTER_SRC:-$ROOT/../shared/openqa-master}"
# a clone of its own (no ../shared beside it): the tarball the repository carries
[ -n "${OPENQA_MASTER_SRC:-}" ] || ls "$SRC"/openqa-master-*.tar.gz >/dev/null 2>&1 || SRC=$ROOT/tests/vendor
PORT="${OPENQA_MASTER_PORT:-9600}"
URL="http://127.0.0.1:$PORT"
DB="${OPENQA_MASTER_DB:-master_qa}"   # not "openqa_...": the 4.6 package's setup-db greps `psql -l` for "openqa"
DBUSER=geekotest             # same role as the 4.6 setup (script/setup-db), web UI runs as this user
R="$M/perl-root"             # private root for unpacked .debs
PIDFILE="$M/run/webui.pid"
LOG="$M/log/webui.log"
ARCHLIB=usr/lib/x86_64-linux-gnu/perl5/5.36   # bookworm's vendorarch (perl 5.36), for the XS modules

# bookworm-backports: master needs Mojolicious >= 9.34 (bookworm 9.31; master uses Mojo::File::spew);
# Minion 10.31 and Mojo::IOLoop::ReadWriteProcess 0.34 are taken from there too.
BPO_DEBS="libmojolicious-perl libminion-perl libmojo-ioloop-readwriteprocess-perl"
# bookworm: modules master requires (cpanfile) that are not installed at all (4.6 does not use them),
# their not-installed dependencies (libsyntax-keyword-try-perl, libperlio-layers-perl),
# libjs-bootstrap5 (Minion admin UI files), and sassc + libsass1 (SCSS -> CSS for the web assets;
# bookworm has no CSS::Sass).
DEBS="libarchive-zip-perl libcapture-tiny-perl libcarp-always-perl libcryptx-perl libsyntax-keyword-try-perl
 libfeature-compat-try-perl libperlio-layers-perl libfile-map-perl libgetopt-long-descriptive-perl
 libminion-backend-sqlite-perl libtext-glob-perl libjs-bootstrap5 sassc libsass1"
# Not brought in: MCP (perl(MCP) >= 0.80, not in Debian; only loaded when [global] mcp_enabled = read-only).

perl5lib() { echo "$R/usr/share/perl5:$R/$ARCHLIB"; }
as_geekotest() {   # run a command as geekotest with master's environment
    setpriv --reuid=$DBUSER --regid=nogroup --init-groups env HOME="$M/data" PATH="$R/wrap:/usr/bin:/bin" \
        OPENQA_CONFIG="$M/etc" OPENQA_BASEDIR="$M/data" PERL5LIB="$(perl5lib)" "$@"
}
psql_master() { runuser -u postgres -- psql -q -X -d $DB -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }

do_export() {
    # the openQA master tree: from the tarball beside this script (a `git archive` of master without t/,
    # with public/Changelog holding the version for the page footer), or from a git dir in OPENQA_GIT_DIR
    [ -e "$M/script/openqa" ] && [ "${FORCE:-0}" != 1 ] && { echo "$M already has a tree (FORCE=1 to overwrite)"; return; }
    mkdir -p "$M"
    if [ -n "${OPENQA_GIT_DIR:-}" ]; then
        commit=$(git --git-dir="$OPENQA_GIT_DIR" rev-parse HEAD)
        git --git-dir="$OPENQA_GIT_DIR" archive "$commit" | tar -x -C "$M"
        git --git-dir="$OPENQA_GIT_DIR" log -1 --format='Update to version 5.%ct.%h:%n  master %H %cI' --abbrev=8 \
            "$commit" > "$M/public/Changelog"
    else
        tarball=$(ls "$SRC"/openqa-master-*.tar.gz 2>/dev/null | tail -1)
        [ -n "$tarball" ] || { echo "no openqa-master-*.tar.gz in $SRC: set OPENQA_MASTER_SRC" >&2; exit 1; }
        tar -xzf "$tarball" -C "$M"
    fi
    chmod 755 "$M"   # the web UI runs as geekotest
    echo "exported to $M: $(head -1 "$M/public/Changelog")"
}

do_install() {
    [ -e "$M/script/openqa" ] || { echo "no openQA tree in $M: run '$0 export' (or git archive) first" >&2; exit 1; }
    # 1. backports apt source, only for `apt-get download` (backports have priority 100: never auto-installed)
    src=/etc/apt/sources.list.d/bookworm-backports-download.sources
    if [ ! -e $src ]; then
        # same mirror host as the system's Debian source
        uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
        [ -n "$uri" ] || uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
        [ -n "$uri" ] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }
        cat > $src <<EOF
# Added by openqa-master.sh: only used to \`apt-get download\` newer Perl modules into /opt/openqa-master.
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    fi
    apt-cache policy libmojolicious-perl | grep -q bookworm-backports && apt-cache policy sassc | grep -q Candidate: \
        || apt-get update -q
    # 2. download the .debs (once) and unpack them into the private root (each time: cheap, idempotent)
    mkdir -p "$M/debs" "$R"
    cd "$M/debs"   # apt-get download writes to the cwd (as root: it warns about "unsandboxed", harmless)
    for p in $BPO_DEBS; do ls ${p}_*bpo12*.deb >/dev/null 2>&1 || apt-get download -q "$p/bookworm-backports"; done
    for p in $DEBS; do ls ${p}_*.deb >/dev/null 2>&1 || apt-get download -q "$p"; done
    for d in "$M"/debs/*.deb; do dpkg -x "$d" "$R"; done
    # Debian's dfsg packages symlink bundled JS/fonts to /usr/share/javascript etc.; Mojolicious::Static dies
    # ("Invalid path") on a dangling link: point each at the system's file if there is one, else an empty file.
    find "$R" -xtype l | while read -r l; do
        abs=$(cd "$(dirname "$l")" && realpath -m "$(readlink "$l")"); sys=${abs#"$R"}
        rm -f "$l"; if [ -e "$sys" ]; then ln -s "$sys" "$l"; else : > "$l"; fi
    done
    # 3. `sass` for Mojolicious::Plugin::AssetPack::Pipe::Sass (calls ruby-sass style `sass -s -I .. --scss -t ..`)
    mkdir -p "$R/wrap"
    cat > "$R/wrap/sass" <<EOF
#!/bin/sh
# ruby-sass compatible front end for libsass' sassc (same -s/-I/-t options, no --scss)
for a in "\$@"; do shift; [ "\$a" = --scss ] || set -- "\$@" "\$a"; done
LD_LIBRARY_PATH="$R/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$R/usr/bin/sassc" "\$@"
EOF
    chmod +x "$R/wrap/sass"
    # 4. JS/CSS dependencies (the Makefile's node_modules target)
    cd "$M"
    if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
        npm clean-install --no-audit --no-fund --ignore-scripts --omit=dev
        touch node_modules
    fi
    # 5. pack the web assets now (production mode builds them at start otherwise); quiet the
    #    "Mojo::File::spurt is deprecated" noise of AssetPack 2.14 under Mojolicious 9.37
    env PATH="$R/wrap:$PATH" PERL5LIB="$M/lib:$(perl5lib)" tools/generate-packed-assets 2>&1 | grep -v 'spurt is deprecated' || true
    [ -n "$(ls assets/cache/openqa-*.min.css 2>/dev/null)" ] || { echo "web assets were not generated" >&2; exit 1; }
    chown -R $DBUSER "$M/assets"
    # 6. config (OPENQA_CONFIG=$M/etc; the tree's own etc/openqa/ is not read because these exist)
    cat > "$M/etc/openqa.ini" <<EOF
[global]
base_url = $URL
[auth]
method = Fake
[audit]
blocklist = job_grab job_done
[cleanup]
concurrent = 0
EOF
    cat > "$M/etc/database.ini" <<EOF
[production]
dsn = DBI:Pg:dbname=$DB
[development]
dsn = DBI:Pg:dbname=$DB
EOF
    # client config for OPENQA_CONFIG=$M/etc openqa-cli ... (openqa-cli: section = host without port)
    cat > "$M/etc/client.conf" <<EOF
[127.0.0.1]
key = 1234567890ABCDEF
secret = 1234567890ABCDEF
[localhost]
key = 1234567890ABCDEF
secret = 1234567890ABCDEF
[127.0.0.1:$PORT]
key = 1234567890ABCDEF
secret = 1234567890ABCDEF
EOF
    # 7. writable data dir ($OPENQA_BASEDIR/openqa), logs, pid file dir
    for d in db images testresults share/factory share/tests webui/cache; do mkdir -p "$M/data/openqa/$d"; done
    mkdir -p "$M/run" "$M/log"
    chown -R $DBUSER "$M/data" "$M/log"
    # 8. database in the existing cluster (must be running; it is not started/stopped here) + schema (dbicdh)
    pg_lsclusters -h | grep -q " online " || { echo "PostgreSQL is not running" >&2; exit 1; }
    runuser -u postgres -- psql -XAtl | cut -d'|' -f1 | grep -qx $DB \
        || (cd /tmp && runuser -u postgres -- createdb -O $DBUSER $DB)
    cd /tmp; rc=0
    as_geekotest "$M/script/initdb" --init_database || rc=$?
    [ $rc = 0 ] || [ $rc = 4 ] || exit $rc    # 4 = "already exists and schema is up to date"
    echo "install done: $M ($(du -sh "$M" | cut -f1))"
}

webui_running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

do_start() {
    [ -e "$M/etc/database.ini" ] || { echo "run '$0 install' first" >&2; exit 1; }
    if ! webui_running; then
        mkdir -p "$M/run" "$M/log"
        # setsid: own session; the inner sh writes its pid, which exec turns into the perl daemon's pid
        (cd /tmp && setsid sh -c 'echo $$ > "$0"; exec "$@"' "$PIDFILE" \
            setpriv --reuid=$DBUSER --regid=nogroup --init-groups env HOME="$M/data" PATH="$R/wrap:/usr/bin:/bin" \
            OPENQA_CONFIG="$M/etc" OPENQA_BASEDIR="$M/data" PERL5LIB="$(perl5lib)" MOJO_LISTEN="$URL" \
            "$M/script/openqa" daemon -m production >> "$LOG" 2>&1 < /dev/null &)
    fi
    i=0
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/jobs?limit=1")" = 200 ]; do
        i=$((i + 1)); [ $i -gt 240 ] && { echo "web UI did not come up, see $LOG" >&2; exit 1; }
        sleep 0.25
    done
    # fake users + their API keys (GET /login creates user and key)
    for u in Demo otherdeveloper nobody; do curl -s -o /dev/null "$URL/login?user=$u"; done
    psql_master "UPDATE users SET is_admin = 0 WHERE username = 'otherdeveloper'"
    # import the key that /etc/openqa/client.conf (read only) has for [127.0.0.1], so openqa-cli without
    # --apikey authenticates against this instance as Demo too
    key=$(awk -F' *= *' '/^\[/{s=$0} s=="[127.0.0.1]" && $1=="key"{print $2}' /etc/openqa/client.conf 2>/dev/null | tail -1)
    secret=$(awk -F' *= *' '/^\[/{s=$0} s=="[127.0.0.1]" && $1=="secret"{print $2}' /etc/openqa/client.conf 2>/dev/null | tail -1)
    if printf %s "$key$secret" | grep -qx '[A-Za-z0-9]\{32\}'; then
        psql_master "INSERT INTO api_keys (key, secret, user_id, t_created, t_updated)
            SELECT '$key', '$secret', id, now(), now() FROM users WHERE username = 'Demo'
            ON CONFLICT (key) DO NOTHING"
    fi
    psql_master "UPDATE api_keys SET t_expiration = NULL"   # keys never expire
    ver=$(curl -s "$URL/" | grep -o 'href="/changelog">[^<]*' | sed 's/.*>//' || true)
    echo "openQA master ${ver:-?} at $URL (pid $(cat "$PIDFILE")), log $LOG"
}

do_stop() {
    if webui_running; then
        pid=$(cat "$PIDFILE"); kill "$pid"
        i=0; while kill -0 "$pid" 2>/dev/null; do i=$((i + 1)); [ $i -gt 100 ] && kill -9 "$pid"; sleep 0.1; done
    fi
    rm -f "$PIDFILE"
}

do_reset() {   # empty database with the current schema, web UI running
    do_stop
    cd /tmp
    runuser -u postgres -- dropdb --if-exists --force $DB
    runuser -u postgres -- createdb -O $DBUSER $DB
    rc=0; as_geekotest "$M/script/initdb" --init_database || rc=$?
    [ $rc = 0 ] || [ $rc = 4 ] || exit $rc
    do_start
}

do_status() {
    if webui_running; then echo "web UI pid $(cat "$PIDFILE")"; else echo "web UI not running"; fi
    curl -s -o /dev/null -w "GET $URL/api/v1/jobs -> %{http_code}\n" "$URL/api/v1/jobs?limit=1" || true
}

case "${1:-}" in
    export) do_export ;;
    install) do_install ;;
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    installed) [ -e "$M/etc/database.ini" ] && [ -n "$(ls "$M"/assets/cache/openqa-*.min.css 2>/dev/null)" ] ;;
    reset) do_reset ;;
    *) echo "usage: $0 export|install|start|stop|reset|status|installed" >&2; exit 2 ;;
esac
