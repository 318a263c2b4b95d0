#include "CBreakwaterRabbitMQ.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct bw_amqp_conn {
    amqp_connection_state_t state;
};

static const amqp_channel_t CHANNEL = 1;

static struct timeval to_timeval(int ms) {
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

static void set_err(char *err, size_t n, const char *what, const char *detail) {
    if (err && n) snprintf(err, n, "%s: %s", what, detail);
}

/* Turns an RPC reply into 0, or -1 with the broker's or the library's words in `err`. */
static int check_reply(amqp_rpc_reply_t r, const char *what, char *err, size_t n) {
    char detail[512];
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return 0;
    case AMQP_RESPONSE_NONE:
        set_err(err, n, what, "no reply from the broker");
        return -1;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        set_err(err, n, what, amqp_error_string2(r.library_error));
        return -1;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *m = (amqp_connection_close_t *)r.reply.decoded;
            snprintf(detail, sizeof detail, "the broker closed the connection (%u %.*s)", m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *m = (amqp_channel_close_t *)r.reply.decoded;
            snprintf(detail, sizeof detail, "the broker closed the channel (%u %.*s)", m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else {
            snprintf(detail, sizeof detail, "unexpected broker method 0x%08x", r.reply.id);
        }
        set_err(err, n, what, detail);
        return -1;
    }
    set_err(err, n, what, "unknown reply");
    return -1;
}

bw_amqp_conn *bw_amqp_connect(const char *host, int port, const char *vhost, const char *user,
                              const char *password, int heartbeat_s, int timeout_ms, char *err, size_t errlen) {
    amqp_connection_state_t state = amqp_new_connection();
    if (!state) {
        set_err(err, errlen, "connect", "out of memory");
        return NULL;
    }
    amqp_socket_t *socket = amqp_tcp_socket_new(state);
    if (!socket) {
        amqp_destroy_connection(state);
        set_err(err, errlen, "connect", "cannot create a TCP socket");
        return NULL;
    }
    struct timeval tv = to_timeval(timeout_ms);
    int rc = amqp_socket_open_noblock(socket, host, port, &tv);
    if (rc != AMQP_STATUS_OK) {
        amqp_destroy_connection(state);
        set_err(err, errlen, "connect", amqp_error_string2(rc));
        return NULL;
    }
    amqp_set_rpc_timeout(state, &tv);
    if (check_reply(amqp_login(state, vhost, 0, 131072, heartbeat_s, AMQP_SASL_METHOD_PLAIN, user, password),
                    "login", err, errlen) != 0) {
        amqp_destroy_connection(state);
        return NULL;
    }
    amqp_channel_open(state, CHANNEL);
    if (check_reply(amqp_get_rpc_reply(state), "channel.open", err, errlen) != 0) {
        amqp_connection_close(state, AMQP_REPLY_SUCCESS);
        amqp_destroy_connection(state);
        return NULL;
    }
    bw_amqp_conn *c = calloc(1, sizeof *c);
    if (!c) {
        amqp_destroy_connection(state);
        set_err(err, errlen, "connect", "out of memory");
        return NULL;
    }
    c->state = state;
    return c;
}

void bw_amqp_close(bw_amqp_conn *c) {
    if (!c) return;
    /* Best effort: a broker that is gone makes these fail fast (the RPC timeout bounds them). */
    amqp_channel_close(c->state, CHANNEL, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c->state, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c->state);
    free(c);
}

int bw_amqp_declare_queue(bw_amqp_conn *c, const char *name, const char *dead_letter_to, int passive,
                          uint32_t *message_count, char *err, size_t errlen) {
    amqp_table_entry_t entries[2];
    amqp_table_t args = amqp_empty_table;
    if (dead_letter_to) {
        entries[0].key = amqp_cstring_bytes("x-dead-letter-exchange");
        entries[0].value.kind = AMQP_FIELD_KIND_UTF8;
        entries[0].value.value.bytes = amqp_cstring_bytes("");
        entries[1].key = amqp_cstring_bytes("x-dead-letter-routing-key");
        entries[1].value.kind = AMQP_FIELD_KIND_UTF8;
        entries[1].value.value.bytes = amqp_cstring_bytes(dead_letter_to);
        args.num_entries = 2;
        args.entries = entries;
    }
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(c->state, CHANNEL, amqp_cstring_bytes(name), passive, 1, 0, 0, args);
    if (!ok) return check_reply(amqp_get_rpc_reply(c->state), "queue.declare", err, errlen) == 0 ? -1 : -1;
    if (message_count) *message_count = ok->message_count;
    return 0;
}

int bw_amqp_confirm_select(bw_amqp_conn *c, char *err, size_t errlen) {
    amqp_confirm_select(c->state, CHANNEL);
    return check_reply(amqp_get_rpc_reply(c->state), "confirm.select", err, errlen);
}

int bw_amqp_publish(bw_amqp_conn *c, const char *queue, const void *body, size_t len, const char *message_id,
                    int64_t attempt, int64_t expiration_ms, char *err, size_t errlen) {
    amqp_basic_properties_t p;
    memset(&p, 0, sizeof p);
    p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_HEADERS_FLAG |
               AMQP_BASIC_CONTENT_TYPE_FLAG;
    p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    p.content_type = amqp_cstring_bytes("application/octet-stream");
    p.message_id = amqp_cstring_bytes(message_id);
    amqp_table_entry_t header;
    header.key = amqp_cstring_bytes("x-attempt");
    header.value.kind = AMQP_FIELD_KIND_I64;
    header.value.value.i64 = attempt;
    p.headers.num_entries = 1;
    p.headers.entries = &header;
    char expiration[32];
    if (expiration_ms > 0) {
        snprintf(expiration, sizeof expiration, "%lld", (long long)expiration_ms);
        p._flags |= AMQP_BASIC_EXPIRATION_FLAG;
        p.expiration = amqp_cstring_bytes(expiration);
    }
    amqp_bytes_t bytes;
    bytes.len = len;
    bytes.bytes = (void *)body;
    int rc = amqp_basic_publish(c->state, CHANNEL, amqp_cstring_bytes(""), amqp_cstring_bytes(queue), 0, 0, &p,
                                bytes);
    if (rc != AMQP_STATUS_OK) {
        set_err(err, errlen, "basic.publish", amqp_error_string2(rc));
        return -1;
    }
    return 0;
}

/* A channel.close or connection.close the broker sent: its reply text into `err`. */
static int close_frame_error(amqp_frame_t *f, const char *what, char *err, size_t errlen) {
    amqp_rpc_reply_t r;
    r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
    r.reply = f->payload.method;
    r.library_error = 0;
    return check_reply(r, what, err, errlen);
}

int bw_amqp_wait_confirm(bw_amqp_conn *c, int timeout_ms, uint64_t *tag, int *multiple, int *is_ack,
                         char *err, size_t errlen) {
    amqp_frame_t f;
    struct timeval tv = to_timeval(timeout_ms);
    int rc = amqp_simple_wait_frame_noblock(c->state, &f, &tv);
    if (rc == AMQP_STATUS_TIMEOUT) return 0;
    if (rc != AMQP_STATUS_OK) {
        set_err(err, errlen, "waiting for a publisher confirm", amqp_error_string2(rc));
        return -1;
    }
    if (f.frame_type != AMQP_FRAME_METHOD) return 0;
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *a = (amqp_basic_ack_t *)f.payload.method.decoded;
        *tag = a->delivery_tag;
        *multiple = a->multiple;
        *is_ack = 1;
        return 1;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *a = (amqp_basic_nack_t *)f.payload.method.decoded;
        *tag = a->delivery_tag;
        *multiple = a->multiple;
        *is_ack = 0;
        return 1;
    }
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
        close_frame_error(&f, "publishing", err, errlen);
        return -1;
    default:
        return 0;
    }
}

int bw_amqp_qos(bw_amqp_conn *c, uint16_t prefetch, char *err, size_t errlen) {
    if (!amqp_basic_qos(c->state, CHANNEL, 0, prefetch, 0))
        return check_reply(amqp_get_rpc_reply(c->state), "basic.qos", err, errlen) == 0 ? -1 : -1;
    return 0;
}

int bw_amqp_consume(bw_amqp_conn *c, const char *queue, char *err, size_t errlen) {
    if (!amqp_basic_consume(c->state, CHANNEL, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0,
                            amqp_empty_table))
        return check_reply(amqp_get_rpc_reply(c->state), "basic.consume", err, errlen) == 0 ? -1 : -1;
    return 0;
}

static int64_t attempt_header(amqp_basic_properties_t *p) {
    if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG)) return 0;
    for (int i = 0; i < p->headers.num_entries; i++) {
        amqp_table_entry_t *e = &p->headers.entries[i];
        if (e->key.len != 9 || memcmp(e->key.bytes, "x-attempt", 9) != 0) continue;
        switch (e->value.kind) {
        case AMQP_FIELD_KIND_I8: return e->value.value.i8;
        case AMQP_FIELD_KIND_U8: return e->value.value.u8;
        case AMQP_FIELD_KIND_I16: return e->value.value.i16;
        case AMQP_FIELD_KIND_U16: return e->value.value.u16;
        case AMQP_FIELD_KIND_I32: return e->value.value.i32;
        case AMQP_FIELD_KIND_U32: return e->value.value.u32;
        case AMQP_FIELD_KIND_I64: return e->value.value.i64;
        case AMQP_FIELD_KIND_U64: return (int64_t)e->value.value.u64;
        default: return 0;
        }
    }
    return 0;
}

int bw_amqp_next_delivery(bw_amqp_conn *c, int timeout_ms, bw_amqp_delivery *out, char *err, size_t errlen) {
    amqp_envelope_t env;
    struct timeval tv = to_timeval(timeout_ms);
    amqp_maybe_release_buffers(c->state);
    amqp_rpc_reply_t r = amqp_consume_message(c->state, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        memset(out, 0, sizeof *out);
        out->delivery_tag = env.delivery_tag;
        out->redelivered = env.redelivered;
        amqp_basic_properties_t *p = &env.message.properties;
        out->attempt = attempt_header(p);
        if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
            size_t n = p->message_id.len < sizeof out->message_id - 1 ? p->message_id.len : sizeof out->message_id - 1;
            memcpy(out->message_id, p->message_id.bytes, n);
            out->message_id[n] = 0;
        }
        out->body_len = env.message.body.len;
        out->body = malloc(out->body_len ? out->body_len : 1);
        if (out->body && out->body_len) memcpy(out->body, env.message.body.bytes, out->body_len);
        amqp_destroy_envelope(&env);
        if (!out->body) {
            set_err(err, errlen, "delivery", "out of memory");
            return -1;
        }
        return 1;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) return 0;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        /* A method frame other than a delivery is waiting: read it. */
        amqp_frame_t f;
        struct timeval now = to_timeval(0);
        int rc = amqp_simple_wait_frame_noblock(c->state, &f, &now);
        if (rc == AMQP_STATUS_TIMEOUT) return 0;
        if (rc != AMQP_STATUS_OK) {
            set_err(err, errlen, "consuming", amqp_error_string2(rc));
            return -1;
        }
        if (f.frame_type != AMQP_FRAME_METHOD) return 0;
        switch (f.payload.method.id) {
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
            close_frame_error(&f, "consuming", err, errlen);
            return -1;
        case AMQP_BASIC_CANCEL_METHOD:
            set_err(err, errlen, "consuming", "the broker cancelled the consumer (queue deleted?)");
            return -1;
        default:
            return 0;
        }
    }
    return check_reply(r, "consuming", err, errlen) == 0 ? -1 : -1;
}

int bw_amqp_ack(bw_amqp_conn *c, uint64_t tag, char *err, size_t errlen) {
    int rc = amqp_basic_ack(c->state, CHANNEL, tag, 0);
    if (rc != AMQP_STATUS_OK) {
        set_err(err, errlen, "basic.ack", amqp_error_string2(rc));
        return -1;
    }
    return 0;
}

int bw_amqp_nack(bw_amqp_conn *c, uint64_t tag, int requeue, char *err, size_t errlen) {
    int rc = amqp_basic_nack(c->state, CHANNEL, tag, 0, requeue);
    if (rc != AMQP_STATUS_OK) {
        set_err(err, errlen, "basic.nack", amqp_error_string2(rc));
        return -1;
    }
    return 0;
}

void bw_amqp_free(void *p) { free(p); }
