/* xtext (RFC 3461 4), the encoding of the DSN parameters ENVID and ORCPT
 * and of AUTH= (RFC 4954 5), and its UTF-8 form utf-8-addr-xtext /
 * utf-8-addr-unitext for ORCPT=utf-8;... (RFC 6533 3).  Pure functions;
 * every output is NUL-terminated. */
#ifndef POSTERN_XTEXT_H
#define POSTERN_XTEXT_H

#include <stddef.h>
#include <stdint.h>

/* 1 when v[0..n) is xtext: printable ASCII other than '+' and '=', or '+'
 * and two upper-case hex digits. */
int xtext_valid(const char *v, size_t n);

/* Decodes the xtext v into out.  RFC 3461 4.2 and 4.4 allow only
 * printable US-ASCII in ENVID and ORCPT before encoding; space is the one
 * white space kept (a TAB or a line break would end up inside the field
 * of a DSN).  Returns the decoded length, or -1 when v is not xtext,
 * decodes to anything else, or does not fit outsize. */
long xtext_decode(const char *v, size_t n, char *out, size_t outsize);

/* Encodes the n bytes of s as xtext.  Returns the length, or -1 when it
 * does not fit outsize. */
long xtext_encode(const char *s, size_t n, char *out, size_t outsize);

/* Decodes utf-8-addr-xtext (unitext == 0) or utf-8-addr-unitext (unitext
 * == 1, for a transaction under SMTPUTF8, where UTF-8 may also appear as
 * is): printable ASCII other than '+', '=' and '\', and \x{HEXPOINT}.
 * The result is valid UTF-8 without control characters (C0, DEL, C1).
 * Returns its length, or -1. */
long xtext_utf8_decode(const char *v, size_t n, int unitext, char *out, size_t outsize);

/* Encodes the UTF-8 string s as utf-8-addr-xtext, for a next hop that
 * does not take SMTPUTF8: every character that is not printable ASCII,
 * and '+', '=', '\', as \x{HEX}.  Returns the length, or -1 when s is not
 * valid UTF-8 or the result does not fit outsize. */
long xtext_utf8_encode(const char *s, size_t n, char *out, size_t outsize);

/* The UTF-8 character at s (n bytes left, n > 0): its code point in *cp
 * and its length, or -1 for an ill-formed sequence (overlong, surrogate,
 * past U+10FFFF: RFC 3629 3). */
int xtext_utf8_char(const char *s, size_t n, uint32_t *cp);

#endif
