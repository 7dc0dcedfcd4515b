/* libFuzzer target for the DNS message reader and dns_answer_from_packet,
 * with invariants on what they accept. */
#include "dns/answer.h"
#include "dns/packet.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum dns_type types[] = {DNS_T_A,   DNS_T_CNAME, DNS_T_PTR, DNS_T_MX,
                                      DNS_T_TXT, DNS_T_AAAA,  DNS_T_SRV, DNS_T_SPF};

static void check_result(const struct dns_result *res, enum dns_type qtype)
{
	if (res->status == DNS_OK) {
		if (res->nrr == 0 || res->canonical == NULL || !res->cacheable)
			abort();
	} else if (res->nrr != 0) {
		abort();
	}
	for (size_t i = 0; i < res->nrr; i++) {
		const struct dns_rr *rr = &res->rrs[i];
		if (rr->type != qtype || rr->ttl > 0x7fffffffu)
			abort();
		if ((qtype == DNS_T_TXT || qtype == DNS_T_SPF) &&
		    rr->u.txt.data[rr->u.txt.len] != '\0')
			abort();
		if ((qtype == DNS_T_CNAME || qtype == DNS_T_PTR) &&
		    strlen(rr->u.name) >= DNS_NAME_TEXT_MAX)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_packet_iter it;
	struct dns_packet_rr rr;
	struct dns_result res, copy;
	uint32_t ttl;

	if (dns_packet_negative_ttl(data, size, &ttl) == 0 && ttl > 0x7fffffffu)
		abort();
	if (dns_packet_iter_init(&it, data, size) == 0)
		while (dns_packet_iter_next(&it, &rr) == 1)
			if (rr.rdata_off + rr.rdlength > size ||
			    strlen(rr.owner) >= sizeof(rr.owner))
				abort();
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (dns_answer_from_packet(data, size, types[i], 3600, &res) < 0) {
			if (res.rrs != NULL || res.canonical != NULL)
				abort();
			continue;
		}
		check_result(&res, types[i]);
		dns_result_copy(&copy, &res);
		dns_result_free(&res);
		check_result(&copy, types[i]);
		dns_result_free(&copy);
	}
	return 0;
}
