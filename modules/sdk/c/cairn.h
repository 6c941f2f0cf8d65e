/*
 * cairn.h: C guest SDK for Cairn modules (see modules/ABI.md).
 *
 * Freestanding, no libc needed:
 *
 *   clang-14 --target=wasm32 -mbulk-memory -O2 -nostdlib -fuse-ld=lld \
 *     -Wl,--no-entry -I modules/sdk/c \
 *     -o lib.wasm lib.c
 *
 * Register a function with CAIRN_FUNCTION(name, flags):
 *
 *   CAIRN_FUNCTION(ping, ":no-writes") { cairn_reply("+PONG\r\n", 7); }
 *
 * The helpers keep their data in static buffers; every call starts from
 * the module's post-initialization state, so nothing carries over.
 */
#ifndef CAIRN_H
#define CAIRN_H

#include <stdint.h>

#define CAIRN_IMPORT(name) __attribute__((import_module("cairn"), import_name(name)))

CAIRN_IMPORT("input_size") uint32_t cairn_input_size(void);
CAIRN_IMPORT("input_read") uint32_t cairn_input_read(void *ptr, uint32_t len);
CAIRN_IMPORT("call") uint32_t cairn_raw_call(const void *cmd, uint32_t len);
CAIRN_IMPORT("pcall") uint32_t cairn_raw_pcall(const void *cmd, uint32_t len);
CAIRN_IMPORT("reply_read") uint32_t cairn_reply_read(void *ptr, uint32_t len);
CAIRN_IMPORT("result") void cairn_reply(const void *resp, uint32_t len);

/* CAIRN_FUNCTION defines function `name` exported as "fcall:name<flags>";
 * flags is "" or ":flag,flag" (for example ":no-writes,allow-stale"). */
#define CAIRN_FUNCTION(name, flags) \
	__attribute__((export_name("fcall:" #name flags))) void name(void)

#ifndef CAIRN_BUF_SIZE
#define CAIRN_BUF_SIZE 65536
#endif

static uint8_t cairn_in_buf[CAIRN_BUF_SIZE];
static uint8_t cairn_cmd_buf[CAIRN_BUF_SIZE];
static uint8_t cairn_reply_buf[CAIRN_BUF_SIZE];

static inline uint32_t cairn_le32(const uint8_t *p) {
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void cairn_put32(uint8_t *p, uint32_t v) {
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

/* cairn_input loads the input; returns the number of keys + args, or -1 if
 * it does not fit CAIRN_BUF_SIZE. *numkeys receives the key count. */
static inline int cairn_input(uint32_t *numkeys) {
	uint32_t n = cairn_input_size();
	if (n > CAIRN_BUF_SIZE || n < 8) return -1;
	cairn_input_read(cairn_in_buf, n);
	*numkeys = cairn_le32(cairn_in_buf);
	return (int)cairn_le32(cairn_in_buf + 4);
}

/* cairn_arg returns item i of the input (keys first, then args) and its
 * length; call cairn_input first. */
static inline const uint8_t *cairn_arg(uint32_t i, uint32_t *len) {
	uint32_t off = 8;
	for (uint32_t k = 0; k < i; k++) off += 4 + cairn_le32(cairn_in_buf + off);
	*len = cairn_le32(cairn_in_buf + off);
	return cairn_in_buf + off + 4;
}

/* cairn_call runs argc arguments (pointers and lengths) with `call`
 * (abort on error) or `pcall` (protected nonzero); returns the reply in a
 * static buffer and its length in *reply_len, or 0 if it does not fit. */
static inline const uint8_t *cairn_call(int protected, uint32_t argc, const uint8_t *const *argv,
		const uint32_t *lens, uint32_t *reply_len) {
	uint32_t off = 4;
	cairn_put32(cairn_cmd_buf, argc);
	for (uint32_t i = 0; i < argc; i++) {
		if (off + 4 + lens[i] > CAIRN_BUF_SIZE) return 0;
		cairn_put32(cairn_cmd_buf + off, lens[i]);
		off += 4;
		for (uint32_t j = 0; j < lens[i]; j++) cairn_cmd_buf[off + j] = argv[i][j];
		off += lens[i];
	}
	uint32_t n = protected ? cairn_raw_pcall(cairn_cmd_buf, off) : cairn_raw_call(cairn_cmd_buf, off);
	if (n > CAIRN_BUF_SIZE) return 0;
	*reply_len = cairn_reply_read(cairn_reply_buf, n);
	return cairn_reply_buf;
}

#endif
