/* incr.c: C example. FCALL cincr 1 <key> runs INCR <key> and replies with
 * INCR's reply; FCALL cping 0 replies PONG. */
#include "cairn.h"

CAIRN_FUNCTION(cping, ":no-writes") { cairn_reply("+PONG\r\n", 7); }

CAIRN_FUNCTION(cincr, "") {
	uint32_t numkeys, klen, rlen;
	if (cairn_input(&numkeys) < 1 || numkeys != 1) {
		static const char err[] = "-ERR usage: FCALL cincr 1 <key>\r\n";
		cairn_reply(err, sizeof(err) - 1);
		return;
	}
	const uint8_t *key = cairn_arg(0, &klen);
	const uint8_t *argv[2] = {(const uint8_t *)"INCR", key};
	uint32_t lens[2] = {4, klen};
	const uint8_t *reply = cairn_call(0, 2, argv, lens, &rlen);
	if (reply) cairn_reply(reply, rlen);
}
