// librdkafka (Debian librdkafka-dev 2.0.2): the client and its in-process mock cluster (tests only).
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

// Macros Swift does not import.
static inline int breakwater_rdkafka_msg_f_copy(void) { return RD_KAFKA_MSG_F_COPY; }
static inline int breakwater_rdkafka_partition_ua(void) { return RD_KAFKA_PARTITION_UA; }
