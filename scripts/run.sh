#!/bin/sh
# `make run`: starts postern in the foreground with the embedded default
# configuration, after saying how to try it.
set -eu
BIN=${1:-build/postern}
cat <<MSG
postern is starting with the embedded configuration (etc/postern.conf):
  MX          127.0.0.1:2525   mail for @localhost from anyone
  submission  127.0.0.1:5870   STARTTLS, then AUTH
  submissions 127.0.0.1:4650   implicit TLS, then AUTH
  state and Maildirs under ./var (self-signed certificate in ./var/tls)

In another terminal:
  echo 'secret' | $BIN user add alice@localhost
  swaks --server 127.0.0.1:5870 --tls --auth-user alice@localhost --auth-password secret \\
        --from alice@localhost --to postmaster@localhost
  ls var/mail/localhost/postmaster/new/

Stop with Ctrl-C.
MSG
exec "$BIN" serve
