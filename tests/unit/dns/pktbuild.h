/* Builds DNS messages by hand for the unit tests. */
#ifndef POSTERN_TEST_PKTBUILD_H
#define POSTERN_TEST_PKTBUILD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct pb {
	unsigned char b[4096];
	size_t n;
};

static inline void pb_bytes(struct pb *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static inline void pb_u8(struct pb *p, unsigned v)
{
	p->b[p->n++] = (unsigned char)v;
}

static inline void pb_u16(struct pb *p, unsigned v)
{
	pb_u8(p, v >> 8 & 0xff);
	pb_u8(p, v & 0xff);
}

static inline void pb_u32(struct pb *p, uint32_t v)
{
	pb_u16(p, v >> 16);
	pb_u16(p, v & 0xffff);
}

/* Labels of a dotted name, ending with the root unless ptr >= 0, which
 * ends it with a compression pointer to that offset. */
static inline void pb_name_ptr(struct pb *p, const char *dotted, int ptr)
{
	while (*dotted) {
		const char *dot = strchr(dotted, '.');
		size_t len = dot ? (size_t)(dot - dotted) : strlen(dotted);
		pb_u8(p, (unsigned)len);
		pb_bytes(p, dotted, len);
		dotted += len + (dot ? 1 : 0);
	}
	if (ptr >= 0)
		pb_u16(p, 0xc000u | (unsigned)ptr);
	else
		pb_u8(p, 0);
}

static inline void pb_name(struct pb *p, const char *dotted)
{
	pb_name_ptr(p, dotted, -1);
}

/* Header (response, RD RA) and one question of class IN. */
static inline void pb_start(struct pb *p, unsigned rcode, unsigned an, unsigned ns,
                            const char *qname, unsigned qtype)
{
	p->n = 0;
	pb_u16(p, 0x1234);
	pb_u16(p, 0x8180 | rcode);
	pb_u16(p, 1);
	pb_u16(p, an);
	pb_u16(p, ns);
	pb_u16(p, 0);
	pb_name(p, qname);
	pb_u16(p, qtype);
	pb_u16(p, 1);
}

/* Type, class IN, TTL and RDLENGTH of a record whose owner is written. */
static inline void pb_rr(struct pb *p, unsigned type, uint32_t ttl, unsigned rdlength)
{
	pb_u16(p, type);
	pb_u16(p, 1);
	pb_u32(p, ttl);
	pb_u16(p, rdlength);
}

/* An SOA in the authority section owned by the name at offset 12 (the
 * question's). */
static inline void pb_soa(struct pb *p, uint32_t ttl, uint32_t minimum)
{
	pb_u16(p, 0xc00c);
	pb_rr(p, 6, ttl, 2 + 2 + 20);
	pb_u16(p, 0xc00c); /* MNAME */
	pb_u16(p, 0xc00c); /* RNAME */
	pb_u32(p, 1);
	pb_u32(p, 3600);
	pb_u32(p, 600);
	pb_u32(p, 86400);
	pb_u32(p, minimum);
}

#endif
