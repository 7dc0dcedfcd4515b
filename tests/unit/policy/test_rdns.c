/* Unit tests of the rdns classifier: a table of names shaped like real ISP,
 * hosting and mail-sender PTR names, each with the client address it was
 * seen for and the class it must get; then the operator patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "policy/rdns.h"

#define G RDNS_GENERIC
#define S RDNS_STATIC_GENERIC
#define N RDNS_NORMAL
#define X RDNS_NONE

struct rdns_case {
	const char *name, *ip;
	enum rdns_class want;
};

/* Decisions where real names are ambiguous:
 * - Default names of cloud and hosting servers (EC2, OVH, Linode, Google
 *   Cloud) are generic: nobody chose them.  Only those that say so
 *   ("static", "server", "vps", "business") are static-generic.
 * - Google's "mail-ej1-f54.google.com" is a mail host: "ej1-f54" names a
 *   pool slot, not the address (one octet at most), and the name says
 *   "mail".  Likewise Amazon SES "a27-33.smtp-out" (two octets next to a
 *   mail word) and Facebook "69-171-232-143.mail-mail.facebook.com" (the
 *   whole address, but next to a mail word and no generic one).
 * - A mail word does not save a name that also says dsl, dynamic, static...
 * - Names built from an opaque number without the address or a generic
 *   word ("vps123456.ovh.net", "vmi123456.contaboserver.net") are normal:
 *   "server1.bigcorp.com" has the same shape.
 * - A generic word alone, without any digit, is one host ("pool.ntp.org"). */
static const struct rdns_case cases[] = {
    /* United States: cable, fibre, DSL */
    {"c-73-162-12-34.hsd1.ca.comcast.net", "73.162.12.34", G},
    {"c-24-12-34-56.hsd1.ma.comcast.net", "24.12.34.56", G},
    {"c-98-207-1-2.hsd1.ca.comcast.net", "98.207.1.2", G},
    {"c-67-180-120-7.hsd1.ca.comcast.net", "67.180.120.7", G},
    {"173-12-34-56-busname-wa.hfc.comcastbusiness.net", "173.12.34.56", G},
    {"pool-71-105-12-34.nycmny.fios.verizon.net", "71.105.12.34", G},
    {"pool-108-28-123-45.washdc.fios.verizon.net", "108.28.123.45", G},
    {"static-71-1-2-3.nycmny.fios.verizon.net", "71.1.2.3", S},
    {"syn-071-012-034-056.res.spectrum.com", "71.12.34.56", G},
    {"024-123-045-067.res.spectrum.com", "24.123.45.67", G},
    {"cpe-74-72-12-34.nyc.res.rr.com", "74.72.12.34", G},
    {"cpe-24-90-1-200.nyc.res.rr.com", "24.90.1.200", G},
    {"rrcs-24-123-45-67.nyc.biz.rr.com", "24.123.45.67", S},
    {"75-12-34-56.dhcp.stls.mo.charter.com", "75.12.34.56", G},
    {"71-84-12-34.static.rvsd.ca.charter.com", "71.84.12.34", S},
    {"99-12-34-56.lightspeed.sndgca.sbcglobal.net", "99.12.34.56", G},
    {"108-12-34-56.lightspeed.tukrga.sbcglobal.net", "108.12.34.56", G},
    {"adsl-99-1-2-3.dsl.emhril.sbcglobal.net", "99.1.2.3", G},
    {"76-12-34-56.lightspeed.irvnca.sbcglobal.net", "76.12.34.56", G},
    {"ip68-12-34-56.ph.ph.cox.net", "68.12.34.56", G},
    {"ip70-123-45-67.sd.sd.cox.net", "70.123.45.67", G},
    {"wsip-70-123-45-67.sd.sd.cox.net", "70.123.45.67", G},
    {"h69-12-34-56.cntcnh.broadband.dynamic.tds.net", "69.12.34.56", G},
    {"50-12-34-56.dr01.wlns.mi.frontiernet.net", "50.12.34.56", G},
    {"71-212-12-34.hlrn.qwest.net", "71.212.12.34", G},
    {"173-20-12-34.client.mchsi.com", "173.20.12.34", G},
    {"ool-18e4c0a8.dyn.optonline.net", "24.228.192.168", G},
    {"ool-4353abcd.static.optonline.net", "67.83.171.205", S},
    {"69-14-12-34.dynamic.wideopenwest.com", "69.14.12.34", G},
    {"207-172-12-34.s34.c3-0.grn-ubr1.sbo-grn.ma.cable.rcn.com", "207.172.12.34", G},
    {"173-219-12-34.suddenlinkhsi.net", "173.219.12.34", G},
    {"h12.34.56.78.dynamic.ip.windstream.net", "12.34.56.78", G},
    {"mobile-166-170-12-34.mycingular.net", "166.170.12.34", G},
    {"ip-172-58-12-34.tmodns.net", "172.58.12.34", G},
    {"34.sub-174-192-12.myvzw.com", "174.192.12.34", G},
    {"156.sub-174-255-12.myvzw.com", "174.255.12.156", G},
    {"ip-68-28-12-34.atlnga.spcsdns.net", "68.28.12.34", G},
    /* Canada, Mexico, South America */
    {"cpe2c56dc98a8ab-cm2c56dc98a8a9.cpe.net.cable.rogers.com", "99.229.12.34", G},
    {"s0106001a2b3c4d5e.cg.shawcable.net", "70.72.12.34", G},
    {"bras-base-toroon1234w-grc-12-76-64-12-34.dsl.bell.ca", "76.64.12.34", G},
    {"modemcable034.12-71-24.mc.videotron.ca", "24.71.12.34", G},
    {"d75-156-12-34.bchsia.telus.net", "75.156.12.34", G},
    {"s66-183-12-34.bc.hsia.telus.net", "66.183.12.34", G},
    {"dsl-189-12-34-56-dyn.prod-infinitum.com.mx", "189.12.34.56", G},
    {"fixed-187-12-34-56.totalplay.net", "187.12.34.56", S},
    {"201-12-34-56.dsl.telesp.net.br", "201.12.34.56", G},
    {"177-12-34-56.user.vivozap.com.br", "177.12.34.56", G},
    {"bd123456.virtua.com.br", "189.18.52.86", G},
    {"host-186-12-34-56.fibertel.com.ar", "186.12.34.56", G},
    /* United Kingdom and Ireland */
    {"host86-128-45-67.range86-128.btcentralplus.com", "86.128.45.67", G},
    {"host81-152-12-34.range81-152.btcentralplus.com", "81.152.12.34", G},
    {"cpc123456-brnt4-2-0-cust123.4-2.cable.virginm.net", "81.98.12.34", G},
    {"5e0c1234.bb.sky.com", "94.12.18.52", G},
    {"host-92-12-34-56.as13285.net", "92.12.34.56", G},
    {"92.40.12.34.threembb.co.uk", "92.40.12.34", G},
    {"82-69-12-34.dsl.in-addr.zen.co.uk", "82.69.12.34", G},
    {"89-100-12-34.static.eircom.net", "89.100.12.34", S},
    /* France */
    {"lfbn-ncy-1-123-45.w86-200.abo.wanadoo.fr", "86.200.123.45", G},
    {"arennes-257-1-12-34.w90-12.abo.wanadoo.fr", "90.12.12.34", G},
    {"82-64-12-34.subs.proxad.net", "82.64.12.34", G},
    {"mar75-1-82-64-12-34.fbx.proxad.net", "82.64.12.34", G},
    {"lns-bzn-12-82-64-12-34.adsl.proxad.net", "82.64.12.34", G},
    {"static-176-182-12-34.ncc.abo.bbox.fr", "176.182.12.34", S},
    {"176-182-12-34.abo.bbox.fr", "176.182.12.34", G},
    {"12.34.56.78.rev.sfr.net", "12.34.56.78", G},
    {"2a01cb0812345600abcdef0123456789.ipv6.abo.wanadoo.fr",
     "2a01:cb08:1234:5600:abcd:ef01:2345:6789", G},
    /* Germany, Austria, Switzerland */
    {"p5b0c1234.dip0.t-ipconnect.de", "91.12.18.52", G},
    {"p200300c1234567890a1b2c3d4e5f6789.dip0.t-ipconnect.de",
     "2003:c1:2345:6789:a1b:2c3d:4e5f:6789", G},
    {"dslb-188-100-12-34.188.100.pools.vodafone-ip.de", "188.100.12.34", G},
    {"ip5f5ab123.dynamic.kabel-deutschland.de", "95.90.177.35", G},
    {"ipb21b1234.dynamic.kabel-deutschland.de", "178.27.18.52", G},
    {"x4d0c1234.dyn.telefonica.de", "77.12.18.52", G},
    {"i59f71234.versanet.de", "89.247.18.52", G},
    {"dynamic-078-048-012-034.78.48.pool.telefonica.de", "78.48.12.34", G},
    {"business-178-012-034-056.static.arcor-ip.net", "178.12.34.56", S},
    {"static.88-198-12-34.clients.your-server.de", "88.198.12.34", S},
    {"static.226.103.9.5.clients.your-server.de", "5.9.103.226", S},
    {"xdsl-89-0-12-34.nc.de", "89.0.12.34", G},
    {"ip-109-40-12-34.web.vodafone.de", "109.40.12.34", G},
    {"ip-176-198-12-34.hsi05.unitymediagroup.de", "176.198.12.34", G},
    {"dyndsl-091-096-012-034.ewe-ip-backbone.de", "91.96.12.34", G},
    {"aftr-95-222-12-34.unity-media.net", "95.222.12.34", G},
    {"80-108-12-34.cable.dynamic.surfer.at", "80.108.12.34", G},
    {"178-191-12-34.adsl.highway.telekom.at", "178.191.12.34", G},
    {"77-56-12-34.dclient.hispeed.ch", "77.56.12.34", G},
    {"adsl-84-226-12-34.adslplus.ch", "84.226.12.34", G},
    /* Benelux, Italy, Iberia */
    {"ip4da12345.direct-adsl.nl", "77.161.35.69", G},
    {"5356A1B2.cm-6-7c.dynamic.ziggo.nl", "83.86.161.178", G},
    {"d54C12345.access.telenet.be", "84.193.35.69", G},
    {"host-79-12-34-56.business.telecomitalia.it", "79.12.34.56", S},
    {"host34-12-static.56-78-b.business.telecomitalia.it", "78.56.12.34", S},
    {"host34-56-dynamic.12-95-r.retail.telecomitalia.it", "95.12.56.34", G},
    {"net-5-95-12-34.cust.vodafonedsl.it", "5.95.12.34", G},
    {"93-34-12-56.ip49.fastwebnet.it", "93.34.12.56", G},
    {"mob-5-90-12-34.net.vodafone.it", "5.90.12.34", G},
    {"12.red-81-40-34.dynamicip.rima-tde.net", "81.40.34.12", G},
    {"2.red-88-12-34.staticip.rima-tde.net", "88.12.34.2", S},
    {"79.red-83-45-12.dynamicip.rima-tde.net", "83.45.12.79", G},
    {"78.56.34.12.dyn.user.ono.com", "12.34.56.78", G},
    {"12.34.56.78.static.user.ono.com", "12.34.56.78", S},
    {"bl12-34-56.dsl.telepac.pt", "85.12.34.56", G},
    /* Nordics, Eastern Europe, Russia, Turkey, Israel */
    {"c-5eea1234-74736162.cust.telenor.se", "94.234.18.52", G},
    {"h-155-4-12-34.a498.priv.bahnhof.se", "155.4.12.34", G},
    {"m83-185-12-34.cust.tele2.se", "83.185.12.34", G},
    {"0x3e9e1234.mnhnxx2.dynamic.dsl.tele.dk", "62.158.18.52", G},
    {"dsl-hkibng31-54fa4b-123.dhcp.inet.fi", "84.250.75.123", G},
    {"user-5-173-12-34.play-internet.pl", "5.173.12.34", G},
    {"apn-37-7-12-34.dynamic.gprs.plus.pl", "37.7.12.34", G},
    {"89-64-12-34.dynamic.chello.pl", "89.64.12.34", G},
    {"public-gprs123456.centertel.pl", "46.77.12.34", G},
    {"dynamic-2a02-a310-1234-5678-abcd-ef01-2345-6789.ipv6.broadband.iol.cz",
     "2a02:a310:1234:5678:abcd:ef01:2345:6789", G},
    {"ppp91-78-12-34.pppoe.mtu-net.ru", "91.78.12.34", G},
    {"95-24-12-34.broadband.corbina.ru", "95.24.12.34", G},
    {"broadband-46-242-12-34.ip.moscow.rt.ru", "46.242.12.34", G},
    {"l37-192-12-34.novotelecom.ru", "37.192.12.34", G},
    {"mm-12-34-56-178.mgts.dynamic.pppoe.byfly.by", "178.56.34.12", G},
    {"ppp-94-66-12-34.home.otenet.gr", "94.66.12.34", G},
    {"78.160.12.34.dynamic.ttnet.com.tr", "78.160.12.34", G},
    {"bzq-79-176-12-34.red.bezeqint.net", "79.176.12.34", G},
    /* Asia, Oceania, Africa */
    {"p3094012-ipngn11001sapodori.hokkaido.ocn.ne.jp", "153.12.34.56", G},
    {"softbank126012034056.bbtec.net", "126.12.34.56", G},
    {"KD111239123045.au-net.ne.jp", "111.239.123.45", G},
    {"fp76ee1234.tkyc401.ap.nuro.jp", "118.238.18.52", G},
    {"i125-12-34-56.s41.a013.ap.plala.or.jp", "125.12.34.56", G},
    {"89.67.45.123.broad.xw.sh.dynamic.163data.com.cn", "123.45.67.89", G},
    {"abts-north-dynamic-123.45.167.122.airtelbroadband.in", "122.167.45.123", G},
    {"cpe-1-123-45-67.bpw3-r-962.woo.qld.bigpond.net.au", "1.123.45.67", G},
    {"203-12-34-56.tpgi.com.au", "203.12.34.56", G},
    {"123-243-12-34.static.tpgi.com.au", "123.243.12.34", S},
    {"ppp121-44-12-34.bras1.syd2.internode.on.net", "121.44.12.34", G},
    {"125-236-12-34.adsl.xtra.co.nz", "125.236.12.34", G},
    {"8ta-12-34-56-78.telkomadsl.co.za", "12.34.56.78", G},
    /* Cloud and hosting defaults */
    {"ec2-54-12-34-56.compute-1.amazonaws.com", "54.12.34.56", G},
    {"ip-10-0-1-23.ec2.internal", "10.0.1.23", G},
    {"ip-172-31-12-34.us-west-2.compute.internal", "172.31.12.34", G},
    {"ns3012345.ip-51-75-12.eu", "51.75.12.34", G},
    {"ip34.ip-51-75-12.eu", "51.75.12.34", G},
    {"172-105-12-34.ip.linodeusercontent.com", "172.105.12.34", G},
    {"12.34.56.78.bc.googleusercontent.com", "78.56.34.12", G},
    {"ip-160-153-12-34.ip.secureserver.net", "160.153.12.34", G},
    {"123-45-67-89.cprapid.com", "123.45.67.89", G},
    {"12-34-56-78.static.hvvc.us", "12.34.56.78", S},
    {"static-ip-1-2-3-4.dsl.example.net", "1.2.3.4", S},
    {"vps-1-2-3-4.hoster.example", "1.2.3.4", S},
    {"unassigned.psychz.net", "104.149.12.34", N},
    {"vps123456.ovh.net", "51.38.12.34", N},
    {"vmi123456.contaboserver.net", "173.212.12.34", N},
    {"srv12345.hoster-test.de", "85.13.12.34", N},
    /* Mail senders */
    {"mail-ej1-f54.google.com", "209.85.218.54", N},
    {"mail-sor-f41.google.com", "209.85.220.41", N},
    {"mail-wr1-f65.google.com", "209.85.221.65", N},
    {"mail-pl1-f171.google.com", "209.85.214.171", N},
    {"mail-yw1-f182.google.com", "209.85.128.182", N},
    {"mail-lj1-f178.google.com", "209.85.208.178", N},
    {"mail-oa1-x42a.google.com", "2001:4860:4864:20::42a", N},
    {"mail-bn8nam12on2101.outbound.protection.outlook.com", "40.107.237.101", N},
    {"mail-am6eur05on2040.outbound.protection.outlook.com", "40.107.22.40", N},
    {"mail-dm6nam11on2061.outbound.protection.outlook.com", "40.107.223.61", N},
    {"a27-33.smtp-out.amazonses.com", "54.240.27.33", N},
    {"a8-45.smtp-out.amazonses.com", "54.240.8.45", N},
    {"e226-55.smtp-out.us-east-2.amazonses.com", "23.251.226.55", N},
    {"mail184-12.suw21.mandrillapp.com", "198.2.184.12", N},
    {"mail180-17.suw31.mandrillapp.com", "198.2.180.17", N},
    {"o1.email.sendgrid.net", "167.89.0.1", N},
    {"o1678912x179.outbound-mail.sendgrid.net", "149.72.12.34", N},
    {"wrqvtzvf.outbound-mail.sendgrid.net", "168.245.12.34", N},
    {"m228-4.mailgun.net", "159.135.228.4", N},
    {"so254-12.mailgun.net", "198.61.254.12", N},
    {"mta236b.sparkpostmail.com", "192.174.90.236", N},
    {"sonic312-21.consmr.mail.bf2.yahoo.com", "74.6.131.20", N},
    {"69-171-232-143.mail-mail.facebook.com", "69.171.232.143", N},
    {"66-220-155-178.mail-mail.facebook.com", "66.220.155.178", N},
    {"mail.protonmail.ch", "185.70.40.101", N},
    {"mout.gmx.net", "212.227.17.20", N},
    {"mo4-p00-ob.smtp.rzone.de", "81.169.146.163", N},
    {"out1-smtp.messagingengine.com", "66.111.4.25", N},
    {"ccm27.constantcontact.com", "208.75.123.27", N},
    {"smtp04-ph2-sp1.mta.salesforce.com", "13.110.6.221", N},
    {"sender4-op-o11.zoho.com", "136.143.188.11", N},
    {"mailout2.zih.tu-dresden.de", "141.30.67.73", N},
    {"mx1.example.org", "192.0.2.25", N},
    {"mx2.mail.example.net", "192.0.2.26", N},
    {"smtp.bigcorp.com", "198.51.100.7", N},
    {"smtp-out1.example.com", "198.51.100.8", N},
    {"relay1.example.edu", "198.51.100.9", N},
    {"outbound3.example.com", "198.51.100.10", N},
    {"mta1.example.net", "198.51.100.11", N},
    {"mailhost.university.edu", "198.51.100.12", N},
    {"mail.example.org", "2001:db8::25", N},
    {"mail-3-4.example.net", "1.2.3.4", N},
    {"mail-1-2-3-4.dsl.example.net", "1.2.3.4", G},
    {"smtp.static-1-2-3-4.example.net", "1.2.3.4", S},
    /* Other chosen names */
    {"www.example.com", "192.0.2.80", N},
    {"server1.bigcorp.com", "192.0.2.81", N},
    {"node1.cluster.example.com", "192.0.2.82", N},
    {"host.example.com", "192.0.2.83", N},
    {"pool.ntp.org", "192.0.2.84", N},
    {"cable.example.com", "192.0.2.85", N},
    {"dhcp.example.com", "192.0.2.86", N},
    {"dynamic.isp.example", "192.0.2.87", N},
    {"gw1.isp.example", "192.0.2.88", N},
    {"ns1.dns.example", "192.0.2.89", N},
    {"web01.example.org", "192.0.2.90", N},
    {"db-3.internal.example", "192.0.2.91", N},
    {"lb2.fra.example.net", "192.0.2.92", N},
    {"api-3-4.example.net", "1.2.3.4", N},
    {"www1-2.example.com", "10.20.1.2", N},
    {"one.two", NULL, N},
    /* Address spellings and partial addresses */
    {"host-4.3.example", "1.2.3.4", G},
    {"3-4.pool.example.net", "1.2.3.4", G},
    {"node-3-4.example.net", "1.2.3.4", G},
    {"2-3-4.example.net", "1.2.3.4", G},
    {"4-3-2.example.net", "1.2.3.4", G},
    {"1-2-3.example.net", "1.2.3.4", G},
    {"h16909060.isp.example", "1.2.3.4", G},
    {"host001002003004.isp.example", "1.2.3.4", G},
    {"host004003002001.isp.example", "1.2.3.4", G},
    {"001-002-003-004.example.net", "1.2.3.4", G},
    {"1.2-3_4.example.net", "1.2.3.4", G},
    {"C0A80101.example.net", "192.168.1.1", G},
    {"c-73-162-12-34.hsd1.ca.comcast.net", "::ffff:73.162.12.34", G},
    {"C-73-162-12-34.HSD1.CA.COMCAST.NET.", "73.162.12.34", G},
    {"2001-db8-1-2--1234.cpe.example.net", "2001:db8:1:2::1234", G},
    {"2600-1700-1234-5678-0-0-0-1a.example.net", "2600:1700:1234:5678::1a", G},
    {"9.8.0.0.7.6.5.4.3.2.1.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.example.net",
     "2001:db8:1:2::123:4567:89", G},
    /* Without the client's address: only the shape and the words */
    {"1-2-3-4.example.net", "5.6.7.8", G},
    {"1-2-3-4.example.net", NULL, G},
    {"c-73-162-12-34.hsd1.ca.comcast.net", NULL, G},
    {"dsl-0412.isp.example", NULL, G},
    {"ppp123.isp.example", "192.0.2.1", G},
    {"dhcp-12-34.university.edu", "192.0.2.1", G},
    {"not an address", "192.0.2.1", N},
    {"host.example.com", "not-an-ip", N},
    {"", "192.0.2.1", X},
    {".", "192.0.2.1", X},
    {NULL, "192.0.2.1", X},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void test_table(void **state)
{
	size_t failed = 0;
	char why[128];

	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		enum rdns_class got =
		    rdns_classify(cases[i].name, cases[i].ip, NULL, why, sizeof(why));
		if (got != cases[i].want) {
			printf("FAIL %s ip=%s want=%s got=%s %s\n",
			       cases[i].name ? cases[i].name : "(null)",
			       cases[i].ip ? cases[i].ip : "(null)", rdns_class_name(cases[i].want),
			       rdns_class_name(got), why);
			failed++;
		}
	}
	printf("rdns table: %zu names, %zu right\n", NCASES, NCASES - failed);
	assert_true(NCASES >= 150);
	assert_int_equal(failed, 0);
}

static void test_reason(void **state)
{
	char why[128];

	(void)state;
	assert_int_equal(
	    rdns_classify("p5b0c1234.dip0.t-ipconnect.de", "91.12.18.52", NULL, why, sizeof(why)),
	    RDNS_GENERIC);
	assert_string_equal(why, "rule=address form=hex keyword=dip");
	assert_int_equal(rdns_classify("mx1.example.org", "192.0.2.1", NULL, why, sizeof(why)),
	                 RDNS_NORMAL);
	assert_string_equal(why, "rule=mail-name keyword=mx");
	assert_int_equal(rdns_classify("", NULL, NULL, why, sizeof(why)), RDNS_NONE);
	assert_string_equal(why, "rule=empty");
	/* A short buffer truncates, a NULL one is allowed. */
	assert_int_equal(rdns_classify("mx1.example.org", NULL, NULL, why, 5), RDNS_NORMAL);
	assert_string_equal(why, "rule");
	assert_int_equal(rdns_classify("mx1.example.org", NULL, NULL, NULL, 0), RDNS_NORMAL);
}

static void test_too_long(void **state)
{
	char name[300];

	(void)state;
	memset(name, 'a', sizeof(name));
	name[RDNS_NAME_MAX] = '\0';
	assert_int_equal(rdns_classify(name, NULL, NULL, NULL, 0), RDNS_NORMAL);
	name[RDNS_NAME_MAX] = '.';
	name[RDNS_NAME_MAX + 1] = '\0';
	assert_int_equal(rdns_classify(name, NULL, NULL, NULL, 0), RDNS_NORMAL);
	name[RDNS_NAME_MAX] = 'a';
	assert_int_equal(rdns_classify(name, NULL, NULL, NULL, 0), RDNS_NONE);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(rdns_classify(name, NULL, NULL, NULL, 0), RDNS_NONE);
}

static void test_patterns(void **state)
{
	struct rdns_patterns *p = rdns_patterns_new();
	char err[256], why[128];

	(void)state;
	assert_int_equal(
	    rdns_patterns_add(p, RDNS_PAT_GENERIC, "*.clients.example.net", err, sizeof(err)), 0);
	assert_int_equal(rdns_patterns_add(p, RDNS_PAT_GENERIC, "/^ws[0-9]+\\./", err, sizeof(err)),
	                 0);
	assert_int_equal(rdns_patterns_add(p, RDNS_PAT_NOT_GENERIC, "mail?.clients.example.net",
	                                   err, sizeof(err)),
	                 0);
	assert_int_equal(
	    rdns_patterns_add(p, RDNS_PAT_NOT_GENERIC, "*.pool.partner.example", err, sizeof(err)),
	    0);

	/* A glob covers the whole name, ignoring case. */
	assert_int_equal(rdns_classify("Box7.Clients.Example.NET", NULL, p, why, sizeof(why)),
	                 RDNS_GENERIC);
	assert_string_equal(why, "rule=pattern-generic pattern=*.clients.example.net");
	assert_int_equal(rdns_classify("clients.example.net.evil", NULL, p, NULL, 0), RDNS_NORMAL);
	/* '.' in a glob is literal. */
	assert_int_equal(rdns_classify("x.clientsxexample.net", NULL, p, NULL, 0), RDNS_NORMAL);
	/* A regex is searched anywhere. */
	assert_int_equal(rdns_classify("ws12.office.example", NULL, p, NULL, 0), RDNS_GENERIC);
	assert_int_equal(rdns_classify("ws.office.example", NULL, p, NULL, 0), RDNS_NORMAL);
	/* The allow-list wins over the generic list and over the heuristics. */
	assert_int_equal(rdns_classify("mail1.clients.example.net", NULL, p, why, sizeof(why)),
	                 RDNS_NORMAL);
	assert_string_equal(why, "rule=pattern-not-generic pattern=mail?.clients.example.net");
	assert_int_equal(rdns_classify("pool-1-2-3-4.pool.partner.example", "1.2.3.4", p, NULL, 0),
	                 RDNS_NORMAL);
	assert_int_equal(rdns_classify("pool-1-2-3-4.isp.example", "1.2.3.4", p, NULL, 0),
	                 RDNS_GENERIC);
	/* The trailing dot is not part of what patterns see. */
	assert_int_equal(rdns_classify("box7.clients.example.net.", NULL, p, NULL, 0),
	                 RDNS_GENERIC);
	rdns_patterns_free(p);
}

static void test_glob_metachars(void **state)
{
	struct rdns_patterns *p = rdns_patterns_new();
	char err[256];

	(void)state;
	assert_int_equal(
	    rdns_patterns_add(p, RDNS_PAT_GENERIC, "a+b(c)|[d]^e$\\f{1}", err, sizeof(err)), 0);
	assert_int_equal(rdns_classify("a+b(c)|[d]^e$\\f{1}", NULL, p, NULL, 0), RDNS_GENERIC);
	assert_int_equal(rdns_classify("aab(c)|[d]^e$\\f{1}", NULL, p, NULL, 0), RDNS_NORMAL);
	rdns_patterns_free(p);
}

static void test_pattern_errors(void **state)
{
	struct rdns_patterns *p = rdns_patterns_new();
	char err[256], big[RDNS_PATTERN_LEN_MAX + 2];
	int i;

	(void)state;
	assert_int_equal(rdns_patterns_add(p, RDNS_PAT_GENERIC, "/a(/", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad pattern /a(/"));
	assert_int_equal(rdns_patterns_add(p, RDNS_PAT_GENERIC, "", err, sizeof(err)), -1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(rdns_patterns_add(p, RDNS_PAT_GENERIC, big, err, sizeof(err)), -1);
	big[RDNS_PATTERN_LEN_MAX] = '\0';
	assert_int_equal(rdns_patterns_add(p, RDNS_PAT_GENERIC, big, err, sizeof(err)), 0);
	for (i = 1; i < RDNS_PATTERNS_MAX; i++)
		assert_int_equal(rdns_patterns_add(p, RDNS_PAT_GENERIC, "*.x", err, sizeof(err)),
		                 0);
	assert_int_equal(rdns_patterns_add(p, RDNS_PAT_GENERIC, "*.x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	/* Each list has its own limit. */
	assert_int_equal(rdns_patterns_add(p, RDNS_PAT_NOT_GENERIC, "*.y", err, sizeof(err)), 0);
	assert_int_equal(rdns_classify("a.y", NULL, p, NULL, 0), RDNS_NORMAL);
	assert_int_equal(rdns_classify("a.x", NULL, p, NULL, 0), RDNS_GENERIC);
	rdns_patterns_free(p);
	rdns_patterns_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),          cmocka_unit_test(test_reason),
	    cmocka_unit_test(test_too_long),       cmocka_unit_test(test_patterns),
	    cmocka_unit_test(test_glob_metachars), cmocka_unit_test(test_pattern_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
