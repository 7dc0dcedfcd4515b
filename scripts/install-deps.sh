#!/bin/sh
# Installs the Debian packages postern needs to build, run and test.
# The unit tests are part of every build (meson option tests), so cmocka
# is a build package: `make run` on a fresh machine configures the same
# build directory `make test` uses.
# Idempotent: packages already present are skipped, apt runs only when needed.
set -eu

BUILD_PKGS="build-essential pkg-config meson ninja-build clang lld llvm
libevent-dev libssl-dev libsqlite3-dev libconfig-dev libcrypt-dev libc-ares-dev
openssl sqlite3 libpsl-dev zlib1g-dev libcmocka-dev"
TEST_PKGS="python3 python3-pytest swaks postfix dovecot-core
dovecot-lmtpd iproute2 procps libclang-rt-14-dev libnet-ssleay-perl nsd
libio-socket-ssl-perl libauthen-sasl-perl python3-yaml python3-spf python3-dkim
libxml2-utils"

want="$BUILD_PKGS"
if [ "${1:-}" = "--test" ]; then
	want="$want $TEST_PKGS"
fi

ensure_user() {
	# The unprivileged user the children run as when postern starts as root.
	if [ "$(id -u)" -eq 0 ] && ! getent passwd postern >/dev/null; then
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin postern
	fi
}

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	ensure_user
	exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing:$missing"
# Postfix must not ask questions or take over port 25; we only use its tools.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
ensure_user
