#include "CBreakwaterOpenSSL.h"
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

/* ---- Macros as functions ---------------------------------------------------------------- */
long bw_ssl_ctx_set_min_proto(SSL_CTX *ctx, int version) { return SSL_CTX_set_min_proto_version(ctx, version); }
long bw_ssl_ctx_set_max_proto(SSL_CTX *ctx, int version) { return SSL_CTX_set_max_proto_version(ctx, version); }
long bw_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
long bw_ssl_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_session_cache_mode(ctx, mode); }
int bw_ssl_ctx_set_groups_list(SSL_CTX *ctx, const char *list) { return (int)SSL_CTX_set1_groups_list(ctx, list); }
long bw_ssl_ctx_set_dh_auto(SSL_CTX *ctx, int on) { return SSL_CTX_set_dh_auto(ctx, on); }
long bw_bio_get_mem_data(BIO *bio, char **out) { return BIO_get_mem_data(bio, out); }
long bw_bio_set_mem_eof_return(BIO *bio, int v) { return BIO_set_mem_eof_return(bio, v); }
size_t bw_bio_ctrl_pending(BIO *bio) { return BIO_ctrl_pending(bio); }
int bw_ssl_set_tlsext_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
int bw_tls1_version(void) { return TLS1_VERSION; }
int bw_tls1_1_version(void) { return TLS1_1_VERSION; }
int bw_tls1_2_version(void) { return TLS1_2_VERSION; }
int bw_tls1_3_version(void) { return TLS1_3_VERSION; }
void bw_free(void *p) { OPENSSL_free(p); }
void bw_cleanse(void *p, size_t len) { OPENSSL_cleanse(p, len); }

/* The session-ID context HAProxy 2.6 gives its contexts (SHCTX_APPNAME): sessions carry it inside
 * their tickets, and OpenSSL only resumes a session whose context matches, so it must be the same for
 * a mixed HAProxy/Breakwater fleet to resume each other's tickets. */
static const unsigned char bw_sid_ctx[] = "haproxy";

void bw_ssl_ctx_set_server_defaults(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_ALL | SSL_OP_NO_COMPRESSION | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION
                                 | SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE | SSL_OP_CIPHER_SERVER_PREFERENCE
                                 | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_session_id_context(ctx, bw_sid_ctx, (unsigned int)strlen((const char *)bw_sid_ctx));
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
}

/* ---- Callback BIO ------------------------------------------------------------------------- */
static BIO_METHOD *bw_cb_method;
static bw_bio_read_cb bw_cb_read;
static bw_bio_write_cb bw_cb_write;

static int bw_cb_bio_read(BIO *bio, char *out, int len) {
    BIO_clear_retry_flags(bio);
    int n = bw_cb_read(BIO_get_data(bio), out, len);
    if (n > 0) return n;
    BIO_set_retry_read(bio);
    return -1;
}

static int bw_cb_bio_write(BIO *bio, const char *in, int len) {
    BIO_clear_retry_flags(bio);
    return bw_cb_write(BIO_get_data(bio), in, len);
}

static long bw_cb_bio_ctrl(BIO *bio, int cmd, long larg, void *parg) {
    (void)parg;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;  /* the handler writes to the socket at its own flush */
    case BIO_CTRL_GET_CLOSE: return BIO_get_shutdown(bio);
    case BIO_CTRL_SET_CLOSE: BIO_set_shutdown(bio, (int)larg); return 1;
    default: return 0;
    }
}

static int bw_cb_bio_create(BIO *bio) {
    BIO_set_init(bio, 1);
    BIO_set_shutdown(bio, 1);
    return 1;
}

static int bw_cb_bio_destroy(BIO *bio) {
    BIO_set_data(bio, NULL);  /* the owner's buffers are not ours to free */
    return 1;
}

const BIO_METHOD *bw_callback_bio_method(bw_bio_read_cb read, bw_bio_write_cb write) {
    if (bw_cb_method) return bw_cb_method;
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "breakwater ciphertext");
    if (!m) return NULL;
    bw_cb_read = read;
    bw_cb_write = write;
    BIO_meth_set_read(m, bw_cb_bio_read);
    BIO_meth_set_write(m, bw_cb_bio_write);
    BIO_meth_set_ctrl(m, bw_cb_bio_ctrl);
    BIO_meth_set_create(m, bw_cb_bio_create);
    BIO_meth_set_destroy(m, bw_cb_bio_destroy);
    bw_cb_method = m;
    return m;
}

BIO *bw_callback_bio_new(const BIO_METHOD *method, void *ctx) {
    BIO *bio = BIO_new(method);
    if (bio) BIO_set_data(bio, ctx);
    return bio;
}

/* ---- SNI ---------------------------------------------------------------------------------- */
long bw_ssl_ctx_set_servername_callback(SSL_CTX *ctx, bw_servername_cb cb, void *arg) {
    SSL_CTX_set_tlsext_servername_arg(ctx, arg);
    return SSL_CTX_set_tlsext_servername_callback(ctx, cb);
}

static void append_name(char **buf, size_t *len, size_t *cap, const unsigned char *s, int n) {
    if (n <= 0) return;
    for (int i = 0; i < n; i++) if (s[i] == '\n' || s[i] == 0) return;
    if (*len + (size_t)n + 2 > *cap) {
        size_t ncap = (*cap ? *cap * 2 : 256) + (size_t)n;
        char *nb = OPENSSL_realloc(*buf, ncap);
        if (!nb) return;
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, (size_t)n);
    *len += (size_t)n;
    (*buf)[(*len)++] = '\n';
    (*buf)[*len] = 0;
}

char *bw_ssl_ctx_certificate_names(SSL_CTX *ctx) {
    X509 *x = SSL_CTX_get0_certificate(ctx);
    if (!x) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
            if (gn->type == GEN_DNS)
                append_name(&buf, &len, &cap, ASN1_STRING_get0_data(gn->d.dNSName), ASN1_STRING_length(gn->d.dNSName));
        }
        GENERAL_NAMES_free(names);
    }
    X509_NAME *subject = X509_get_subject_name(x);
    int pos = -1;
    while (subject && (pos = X509_NAME_get_index_by_NID(subject, NID_commonName, pos)) >= 0) {
        ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, pos));
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, data);
        if (n > 0) append_name(&buf, &len, &cap, utf8, n);
        OPENSSL_free(utf8);
    }
    if (!buf) {
        buf = OPENSSL_zalloc(1);
    }
    return buf;
}

/* ---- ALPN ------------------------------------------------------------------------------------ */
typedef struct { unsigned int len; unsigned char wire[]; } bw_alpn_list;

static int bw_alpn_index = -1;
static pthread_once_t bw_once = PTHREAD_ONCE_INIT;
static int bw_ring_index = -1;

static void bw_alpn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    OPENSSL_free(ptr);
}

static void bw_init_indexes(void) {
    bw_alpn_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, bw_alpn_free);
    bw_ring_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int bw_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                          unsigned int inlen, void *arg) {
    (void)arg;
    bw_alpn_list *list = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), bw_alpn_index);
    if (!list) return SSL_TLSEXT_ERR_NOACK;
    /* Server preference: first configured protocol the client also offers (TLS-4). */
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, list->wire, list->len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

int bw_ssl_ctx_set_alpn_preferences(SSL_CTX *ctx, const unsigned char *wire, unsigned int len) {
    pthread_once(&bw_once, bw_init_indexes);
    bw_alpn_list *list = OPENSSL_malloc(sizeof(bw_alpn_list) + len);
    if (!list) return 0;
    list->len = len;
    memcpy(list->wire, wire, len);
    bw_alpn_list *old = SSL_CTX_get_ex_data(ctx, bw_alpn_index);
    if (!SSL_CTX_set_ex_data(ctx, bw_alpn_index, list)) { OPENSSL_free(list); return 0; }
    OPENSSL_free(old);
    SSL_CTX_set_alpn_select_cb(ctx, bw_alpn_select, NULL);
    return 1;
}

/* ---- Certificates ------------------------------------------------------------------------------ */
static int bw_no_password(char *buf, int size, int rwflag, void *u) {
    (void)buf; (void)size; (void)rwflag; (void)u;
    return 0; /* never prompt on a terminal */
}

static EVP_PKEY *bw_read_key(const char *path) {
    BIO *bio = BIO_new_file(path, "r");
    if (!bio) return NULL;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, bw_no_password, NULL);
    BIO_free(bio);
    return key;
}

int bw_pem_file_has_key(const char *path) {
    EVP_PKEY *key = bw_read_key(path);
    ERR_clear_error();
    if (!key) return 0;
    EVP_PKEY_free(key);
    return 1;
}

int bw_ssl_ctx_load_pem(SSL_CTX *ctx, const char *certPath, const char *keyPath) {
    SSL_CTX_set_default_passwd_cb(ctx, bw_no_password);
    if (SSL_CTX_use_certificate_chain_file(ctx, certPath) != 1) return 1;
    EVP_PKEY *key = bw_read_key(keyPath);
    if (!key) return 2;
    X509 *leaf = SSL_CTX_get0_certificate(ctx);
    if (!leaf || X509_check_private_key(leaf, key) != 1) { EVP_PKEY_free(key); return 3; }
    int ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (ok != 1 || SSL_CTX_check_private_key(ctx) != 1) return 3;
    ERR_clear_error();
    return 0;
}

int bw_drain_errors(char *buf, size_t len) {
    int n = 0;
    unsigned long e;
    if (len) buf[0] = 0;
    while ((e = ERR_get_error()) != 0) {
        if (n == 0 && len) ERR_error_string_n(e, buf, len);
        n++;
    }
    return n;
}

/* ---- Session-ticket key ring ------------------------------------------------------------------- */
#define BW_TICKET_SLOTS 3
#define BW_MAX_KEY 80

struct bw_ticket_ring {
    pthread_rwlock_t lock;
    int key_size;          /* 48 (AES-128) or 80 (AES-256) */
    int head;              /* slot of the current (encrypting) key: HAProxy's tls_ticket_enc_index */
    unsigned char keys[BW_TICKET_SLOTS][BW_MAX_KEY];
    unsigned long stats[4];
};

bw_ticket_ring *bw_ticket_ring_new(int keySize, const unsigned char *keys) {
    if (keySize != 48 && keySize != 80) return NULL;
    pthread_once(&bw_once, bw_init_indexes);
    bw_ticket_ring *ring = OPENSSL_secure_zalloc(sizeof(*ring));
    if (!ring) ring = OPENSSL_zalloc(sizeof(*ring));
    if (!ring) return NULL;
    pthread_rwlock_init(&ring->lock, NULL);
    ring->key_size = keySize;
    for (int i = 0; i < BW_TICKET_SLOTS; i++) memcpy(ring->keys[i], keys + i * keySize, (size_t)keySize);
    ring->head = 1;
    return ring;
}

void bw_ticket_ring_free(bw_ticket_ring *ring) {
    if (!ring) return;
    OPENSSL_cleanse(ring->keys, sizeof(ring->keys));
    pthread_rwlock_destroy(&ring->lock);
    if (CRYPTO_secure_allocated(ring)) OPENSSL_secure_clear_free(ring, sizeof(*ring));
    else OPENSSL_clear_free(ring, sizeof(*ring));
}

int bw_ticket_ring_key_size(const bw_ticket_ring *ring) { return ring->key_size; }

void bw_ticket_ring_rotate(bw_ticket_ring *ring, const unsigned char *key) {
    pthread_rwlock_wrlock(&ring->lock);
    /* ssl_sock_update_tlskey_ref(): overwrite the previous key, advance the encryption index. */
    int slot = (ring->head + 2) % BW_TICKET_SLOTS;
    OPENSSL_cleanse(ring->keys[slot], BW_MAX_KEY);
    memcpy(ring->keys[slot], key, (size_t)ring->key_size);
    ring->head = (ring->head + 1) % BW_TICKET_SLOTS;
    pthread_rwlock_unlock(&ring->lock);
}

void bw_ticket_ring_copy_slot(bw_ticket_ring *ring, int slot, unsigned char *out) {
    pthread_rwlock_rdlock(&ring->lock);
    /* show tls-keys: <id>.<n> is keys[(head + 2 + n) % 3] (previous, current, next). */
    memcpy(out, ring->keys[(ring->head + 2 + slot) % BW_TICKET_SLOTS], (size_t)ring->key_size);
    pthread_rwlock_unlock(&ring->lock);
}

void bw_ticket_ring_stats(bw_ticket_ring *ring, unsigned long out[4]) {
    pthread_rwlock_wrlock(&ring->lock);
    memcpy(out, ring->stats, sizeof(ring->stats));
    pthread_rwlock_unlock(&ring->lock);
}

static int bw_hmac_init(EVP_MAC_CTX *hctx, unsigned char *key, size_t len) {
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, len);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(hctx, params);
}

/* HAProxy 2.6's ssl_tlsext_ticket_key_cb(): 16-byte key name, 16-byte random IV, AES-CBC with the
 * slot's AES key, HMAC-SHA256 with its HMAC key. Encrypts with the current key; decrypts with any of
 * the three (1 = current, 2 = another slot: resume and renew, 0 = unknown name: full handshake). */
static int bw_ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *ectx,
                        EVP_MAC_CTX *hctx, int enc) {
    bw_ticket_ring *ring = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), bw_ring_index);
    if (!ring) return -1;
    int ret = -1;
    pthread_rwlock_rdlock(&ring->lock);
    int aes_len = ring->key_size == 48 ? 16 : 32;
    const EVP_CIPHER *cipher = ring->key_size == 48 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
    if (enc) {
        unsigned char *k = ring->keys[ring->head];
        memcpy(key_name, k, 16);
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) goto end;
        if (!EVP_EncryptInit_ex(ectx, cipher, NULL, k + 16, iv)) goto end;
        if (!bw_hmac_init(hctx, k + 16 + aes_len, (size_t)aes_len)) goto end;
        __atomic_add_fetch(&ring->stats[0], 1, __ATOMIC_RELAXED);
        ret = 1;
    } else {
        int i;
        for (i = 0; i < BW_TICKET_SLOTS; i++) {
            if (!memcmp(key_name, ring->keys[(ring->head + i) % BW_TICKET_SLOTS], 16)) break;
        }
        if (i == BW_TICKET_SLOTS) {
            __atomic_add_fetch(&ring->stats[3], 1, __ATOMIC_RELAXED);
            ret = 0;
            goto end;
        }
        unsigned char *k = ring->keys[(ring->head + i) % BW_TICKET_SLOTS];
        if (!bw_hmac_init(hctx, k + 16 + aes_len, (size_t)aes_len)) goto end;
        if (!EVP_DecryptInit_ex(ectx, cipher, NULL, k + 16, iv)) goto end;
        __atomic_add_fetch(&ring->stats[i ? 2 : 1], 1, __ATOMIC_RELAXED);
        ret = i ? 2 : 1;
    }
end:
    pthread_rwlock_unlock(&ring->lock);
    return ret;
}

int bw_ssl_ctx_use_ticket_ring(SSL_CTX *ctx, bw_ticket_ring *ring) {
    pthread_once(&bw_once, bw_init_indexes);
    if (!SSL_CTX_set_ex_data(ctx, bw_ring_index, ring)) return 0;
    return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, bw_ticket_cb) == 1;
}

long bw_statfs_type(const char *path) {
    struct statfs fs;
    if (statfs(path, &fs) != 0) return -1;
    return (long)fs.f_type;
}
