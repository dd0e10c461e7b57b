/* The dmabuf-trace JSON line format (data/traces/README.md): a bounded line builder and the decoding of
 * the uAPI ioctls DmaBufSim models. Shared by the LD_PRELOAD tracer and the real-kernel guest agent. */
#ifndef DMABUFSIM_TRACE_FMT_H
#define DMABUFSIM_TRACE_FMT_H

#include <stddef.h>
#include <stdint.h>

/* A JSON text being built in a caller-owned buffer; output past the capacity is dropped (len stays
 * bounded, `overflow` is set). `need_comma` tracks whether the next member needs a separator. */
struct jb {
	char *buf;
	size_t cap, len;
	int need_comma;
	int overflow;
};

void jb_init(struct jb *j, char *buf, size_t cap);
void jb_raw(struct jb *j, const char *s);
void jb_open(struct jb *j, const char *key);  /* "key":{  (key NULL: a bare {) */
void jb_close(struct jb *j);                  /* } */
void jb_open_arr(struct jb *j, const char *key);
void jb_close_arr(struct jb *j);
void jb_i64(struct jb *j, const char *key, int64_t v);
void jb_u64(struct jb *j, const char *key, uint64_t v); /* >= 2^53 as a decimal string */
void jb_bool(struct jb *j, const char *key, int v);
void jb_double(struct jb *j, const char *key, double v);
void jb_str(struct jb *j, const char *key, const char *s);
void jb_strn(struct jb *j, const char *key, const char *s, size_t n);
void jb_hex(struct jb *j, const char *key, const unsigned char *p, size_t n);
/* "ret":R plus "errno_name" when R < 0. */
void jb_ret(struct jb *j, int64_t ret);

const char *tf_errno_name(int err);

/* Decoded ioctls. tf_ioctl_name: the op name of a request that is decoded, NULL for a raw one.
 * tf_ioctl_insize: how many bytes of the argument to snapshot before the call (0: the argument is not a
 * struct pointer, or only read as a string). */
const char *tf_ioctl_name(unsigned long req);
/* Requests with one number and two meanings (UDMABUF_CREATE = KVMFR_DMABUF_CREATE): the op name preferred by
 * the next lookups (NULL: the first entry). */
void tf_ioctl_prefer(const char *name);
size_t tf_ioctl_insize(unsigned long req);

/* Reads user memory safely: returns bytes copied (0 on a bad address). Supplied by the program. */
typedef size_t (*tf_peek_fn)(void *dst, const void *src, size_t n);

/* Writes "args":{...} from the struct as passed in (`in`, tf_ioctl_insize bytes; for SET_NAME `arg` is
 * the string pointer and peek reads it). */
void tf_ioctl_args(struct jb *j, unsigned long req, const void *in, unsigned long arg, tf_peek_fn peek);
/* Writes the members of "result" after "ret": every output field as the kernel left it (`out` = the
 * struct after the call; for VERSION the strings are read through peek). */
void tf_ioctl_result(struct jb *j, unsigned long req, const void *in, const void *out, int64_t ret, tf_peek_fn peek);

/* The request of a decoded ioctl by its op name (0 when unknown), and a struct field set by name (-1 when
 * the struct has no such field). */
unsigned long tf_ioctl_by_name(const char *name);
int tf_ioctl_put(unsigned long req, void *s, const char *field, uint64_t v);

/* fcntl command names (F_GETFD ...), NULL when unknown. */
const char *tf_fcntl_name(int cmd);
/* The O_ACCMODE name of a flags word. */
const char *tf_accmode_name(long flags);

#endif
