/*
 * op_table.h - the opcode table: for each FUSE opcode, in one row, how its
 * request is decoded, whether it takes a reply, which volume function
 * executes it (and completes it later, if its callback may pend), how its
 * response is encoded, what is undone when its reply is not delivered,
 * and its name for the debug log. Adding an opcode means one row in
 * op_table.c and one execute function.
 */
#ifndef FSP_OP_TABLE_H
#define FSP_OP_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "describe.h"
#include "protocol.h"
#include "txn.h"

/* What follows a reply the kernel took (INIT: the io_uring gate opens). */
typedef void fsp_sent_fn(struct fsp_txn *t);

struct fsp_op {
    const char *name;               /* "LOOKUP", for the log and fsptool */
    struct fsp_wire_shape shape;    /* decoding; shape.no_reply: no reply */
    fsp_execute_fn *execute;        /* NULL: answered ENOSYS */
    /* Non-NULL when execute calls a callback (which may return
     * FSP_PENDING): the request is registered before execute runs, and
     * the callback's answer goes through this (txn.h). */
    fsp_complete_fn *complete;
    fsp_encode_fn *encode;          /* NULL: a reply without body */
    fsp_undelivered_fn *undelivered;/* NULL: nothing to give back */
    fsp_sent_fn *sent;              /* NULL: nothing follows */
    /* The response's data is built in the worker's reply buffer (READ,
     * READDIR, READLINK, xattr values): a request that pends takes the
     * buffer with it, the worker gets a fresh one. */
    bool reply_data;
    fsp_describe_fn *describe;      /* the arguments, for the debug log */
};

/* The row of @opcode, or NULL for an opcode the table does not know. */
const struct fsp_op *fsp_op_of(uint32_t opcode);

/* The wire shape of @opcode (fsp_wire_shape_of, for fsp_proto_decode). */
const struct fsp_wire_shape *fsp_op_shape(uint32_t opcode);

/* Decode one request with the table's shapes: fsp_proto_decode(). */
int fsp_op_decode(const void *buf, size_t len, uint32_t minor,
                  struct fsp_request *req);

/* Does @opcode get a reply? Unknown opcodes do (ENOSYS); FORGET,
 * BATCH_FORGET, INTERRUPT and NOTIFY_REPLY do not. */
bool fsp_op_has_reply(uint32_t opcode);

/*
 * Write a one-line readable description of a request's arguments into
 * @buf (always NUL-terminated, unless @size is 0): the row's describe
 * function (e.g. "name=\"foo\" mode=0100644 flags=O_RDWR"), "(undecoded)"
 * for a request whose decode failed, "len=N" for an opcode the table does
 * not know; empty for NULL or a request without header. Returns @buf.
 */
char *fsp_op_describe(const struct fsp_request *req, char *buf, size_t size);

/* "LOOKUP", "GETATTR", ..., "CUSE_INIT"; NULL for an unknown opcode. */
const char *fsp_op_name(uint32_t opcode);

/* INTERRUPT (dispatcher.c): answers a pending target EINTR. */
fsp_execute_fn fsp_dispatch_interrupt;
/* INIT's reply was sent (uring.c): the io_uring queues may register. */
fsp_sent_fn fsp_dispatch_init_sent;

#endif /* FSP_OP_TABLE_H */
