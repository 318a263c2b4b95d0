#ifndef C_BREAKWATER_OPENSSL_H
#define C_BREAKWATER_OPENSSL_H

/* Thin shims over the system OpenSSL 3 (Debian libssl-dev) for Breakwater's TLS termination:
 * macros Swift cannot call, callbacks that must be C, and the session-ticket key ring. */

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/crypto.h>
#include <stddef.h>

/* ---- Macros as functions ---------------------------------------------------------------- */
long bw_ssl_ctx_set_min_proto(SSL_CTX *ctx, int version);
long bw_ssl_ctx_set_max_proto(SSL_CTX *ctx, int version);
long bw_ssl_ctx_set_mode(SSL_CTX *ctx, long mode);
long bw_ssl_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode);
int bw_ssl_ctx_set_groups_list(SSL_CTX *ctx, const char *list);
long bw_ssl_ctx_set_dh_auto(SSL_CTX *ctx, int on);
long bw_bio_get_mem_data(BIO *bio, char **out);
long bw_bio_set_mem_eof_return(BIO *bio, int v);
size_t bw_bio_ctrl_pending(BIO *bio);
int bw_ssl_set_tlsext_host_name(SSL *ssl, const char *name);
int bw_tls1_version(void);
int bw_tls1_1_version(void);
int bw_tls1_2_version(void);
int bw_tls1_3_version(void);

/* Protocol options Breakwater always sets on a server context (HAProxy's set, renegotiation off). */
void bw_ssl_ctx_set_server_defaults(SSL_CTX *ctx);

/* ---- Callback BIO ------------------------------------------------------------------------- */
/* A BIO whose reads and writes call back into the owner of `ctx` (BIO_set_data), so ciphertext moves
 * straight between OpenSSL's record buffers and the connection's ByteBuffers: no memory-BIO copy
 * in either direction. A read callback returns the bytes it copied, 0 when it has none (the BIO then
 * asks OpenSSL to retry: never EOF, the socket's EOF is the handler's business); a write callback
 * takes every byte and returns len. */
typedef int (*bw_bio_read_cb)(void *ctx, char *out, int len);
typedef int (*bw_bio_write_cb)(void *ctx, const char *in, int len);
/* The method, created on the first call with these callbacks (later calls return the same one; not
 * thread-safe: call it from one initializer, e.g. a Swift static let). */
const BIO_METHOD *bw_callback_bio_method(bw_bio_read_cb read, bw_bio_write_cb write);
/* A new BIO of `method` whose callbacks receive ctx. */
BIO *bw_callback_bio_new(const BIO_METHOD *method, void *ctx);

/* ---- SNI ---------------------------------------------------------------------------------- */
typedef int (*bw_servername_cb)(SSL *ssl, int *alert, void *arg);
long bw_ssl_ctx_set_servername_callback(SSL_CTX *ctx, bw_servername_cb cb, void *arg);
/* Newline-separated DNS names of the context's certificate: subjectAltName DNS entries, then the
 * subject CN(s). Caller frees with bw_free. NULL if the context has no certificate. */
char *bw_ssl_ctx_certificate_names(SSL_CTX *ctx);
void bw_free(void *p);

/* ---- ALPN (server preference, RFC 7301 wire list copied into the context) ---------------------- */
int bw_ssl_ctx_set_alpn_preferences(SSL_CTX *ctx, const unsigned char *wire, unsigned int len);

/* ---- Certificates --------------------------------------------------------------------------- */
/* Loads leaf + chain from a PEM file and the key from keyPath (same file or companion .key).
 * Returns 0 on success; 1 no certificate in file; 2 no private key; 3 key does not match. */
int bw_ssl_ctx_load_pem(SSL_CTX *ctx, const char *certPath, const char *keyPath);
/* 1 if the PEM file contains a private key. */
int bw_pem_file_has_key(const char *path);

/* ---- Errors -------------------------------------------------------------------------------- */
/* Pops the error queue into buf (first error's reason), returns the number of errors cleared. */
int bw_drain_errors(char *buf, size_t len);

/* ---- Session-ticket key ring (HAProxy 2.6 semantics, TLS-6..TLS-8) --------------------------- */
typedef struct bw_ticket_ring bw_ticket_ring;
/* keys: 3 * keySize bytes in the order previous, current, next. keySize is 48 or 80. */
bw_ticket_ring *bw_ticket_ring_new(int keySize, const unsigned char *keys);
/* Wipes the keys and frees the ring. */
void bw_ticket_ring_free(bw_ticket_ring *ring);
int bw_ticket_ring_key_size(const bw_ticket_ring *ring);
/* `set ssl tls-key`: the new key replaces the previous one and the ring advances one step. */
void bw_ticket_ring_rotate(bw_ticket_ring *ring, const unsigned char *key);
/* Copies slot 0 (previous), 1 (current) or 2 (next) into out (keySize bytes). */
void bw_ticket_ring_copy_slot(bw_ticket_ring *ring, int slot, unsigned char *out);
/* Installs HAProxy's ticket-key callback on ctx, with the ring as its key source. */
int bw_ssl_ctx_use_ticket_ring(SSL_CTX *ctx, bw_ticket_ring *ring);
/* Counters for tests: tickets encrypted, decrypted with the current key, with another key, unknown. */
void bw_ticket_ring_stats(bw_ticket_ring *ring, unsigned long out[4]);

/* statfs(2) f_type of the filesystem holding path, or -1 (tmpfs check of key files). */
long bw_statfs_type(const char *path);

/* Wipes memory (OPENSSL_cleanse). */
void bw_cleanse(void *p, size_t len);

#endif
