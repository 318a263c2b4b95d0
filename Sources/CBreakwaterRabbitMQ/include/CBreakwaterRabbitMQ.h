#ifndef C_BREAKWATER_RABBITMQ_H
#define C_BREAKWATER_RABBITMQ_H

/* A narrow shim over Debian's librabbitmq 0.11 (AMQP 0-9-1) for the jobs section's RabbitMQ queue.
 * It hides librabbitmq's unions and tables from Swift: one connection, one channel (1), blocking calls
 * with timeouts. Not thread safe: each connection is owned by one dedicated Swift thread.
 * Every function taking `err` writes a readable message there on failure. */

#include <stddef.h>
#include <stdint.h>

typedef struct bw_amqp_conn bw_amqp_conn;

/* Connects, logs in (PLAIN), opens channel 1. NULL on failure. */
bw_amqp_conn *bw_amqp_connect(const char *host, int port, const char *vhost, const char *user,
                              const char *password, int heartbeat_s, int timeout_ms, char *err, size_t errlen);
void bw_amqp_close(bw_amqp_conn *c);

/* Declares a durable queue. With `dead_letter_to` (not NULL), expired messages go to that queue through
 * the default exchange (a delay queue). `passive` only checks it exists. `message_count` may be NULL. */
int bw_amqp_declare_queue(bw_amqp_conn *c, const char *name, const char *dead_letter_to, int passive,
                          uint32_t *message_count, char *err, size_t errlen);
/* Puts the channel into publisher-confirm mode. */
int bw_amqp_confirm_select(bw_amqp_conn *c, char *err, size_t errlen);
/* Publishes a persistent message to `queue` (default exchange) with message-id and an `x-attempt` header;
 * `expiration_ms` > 0 sets the per-message TTL. The confirm arrives later (bw_amqp_wait_confirm). */
int bw_amqp_publish(bw_amqp_conn *c, const char *queue, const void *body, size_t len, const char *message_id,
                    int64_t attempt, int64_t expiration_ms, char *err, size_t errlen);
/* Waits up to timeout_ms for one publisher confirm: 1 and the tag (ack or nack, multiple) on one,
 * 0 on timeout, -1 when the connection or channel failed. Services heartbeats. */
int bw_amqp_wait_confirm(bw_amqp_conn *c, int timeout_ms, uint64_t *tag, int *multiple, int *is_ack,
                         char *err, size_t errlen);

/* basic.qos prefetch-count (per consumer). */
int bw_amqp_qos(bw_amqp_conn *c, uint16_t prefetch, char *err, size_t errlen);
/* basic.consume with manual acks. */
int bw_amqp_consume(bw_amqp_conn *c, const char *queue, char *err, size_t errlen);

/* One delivery: body is malloc'd (free with bw_amqp_free), message_id NUL-terminated. */
typedef struct {
    uint64_t delivery_tag;
    int redelivered;
    int64_t attempt;
    char message_id[128];
    void *body;
    size_t body_len;
} bw_amqp_delivery;

/* Waits up to timeout_ms for a delivery: 1 with `out` filled, 0 on timeout, -1 on failure. */
int bw_amqp_next_delivery(bw_amqp_conn *c, int timeout_ms, bw_amqp_delivery *out, char *err, size_t errlen);
int bw_amqp_ack(bw_amqp_conn *c, uint64_t tag, char *err, size_t errlen);
int bw_amqp_nack(bw_amqp_conn *c, uint64_t tag, int requeue, char *err, size_t errlen);
void bw_amqp_free(void *p);

#endif
