/* See trace_fmt.h. */
#include "trace_fmt.h"
#include "dmabufsim_uapi.h"

#define ENOTSUPP_DSIM 524    /* kernel-internal, never seen by user space */
#define ERESTARTSYS_DSIM 512

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

void jb_init(struct jb *j, char *buf, size_t cap)
{
	j->buf = buf;
	j->cap = cap;
	j->len = 0;
	j->need_comma = 0;
	j->overflow = 0;
	if (cap)
		buf[0] = '\0';
}

static void jb_putn(struct jb *j, const char *s, size_t n)
{
	if (j->len + n + 1 > j->cap) {
		j->overflow = 1;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

void jb_raw(struct jb *j, const char *s)
{
	jb_putn(j, s, strlen(s));
}

static void jb_escaped(struct jb *j, const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	jb_putn(j, "\"", 1);
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)s[k];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			jb_putn(j, e, 2);
		} else if (c == '\n') {
			jb_putn(j, "\\n", 2);
		} else if (c == '\t') {
			jb_putn(j, "\\t", 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15] };
			jb_putn(j, e, 6);
		} else {
			jb_putn(j, (const char *)&c, 1);
		}
	}
	jb_putn(j, "\"", 1);
}

static void jb_key(struct jb *j, const char *key)
{
	if (j->need_comma)
		jb_putn(j, ",", 1);
	j->need_comma = 1;
	if (key) {
		jb_escaped(j, key, strlen(key));
		jb_putn(j, ":", 1);
	}
}

void jb_open(struct jb *j, const char *key)
{
	jb_key(j, key);
	jb_putn(j, "{", 1);
	j->need_comma = 0;
}

void jb_close(struct jb *j)
{
	jb_putn(j, "}", 1);
	j->need_comma = 1;
}

void jb_open_arr(struct jb *j, const char *key)
{
	jb_key(j, key);
	jb_putn(j, "[", 1);
	j->need_comma = 0;
}

void jb_close_arr(struct jb *j)
{
	jb_putn(j, "]", 1);
	j->need_comma = 1;
}

void jb_i64(struct jb *j, const char *key, int64_t v)
{
	char t[32];
	int n = snprintf(t, sizeof t, "%lld", (long long)v);
	jb_key(j, key);
	if (v >= (int64_t)1 << 53 || v <= -((int64_t)1 << 53)) {
		jb_putn(j, "\"", 1);
		jb_putn(j, t, (size_t)n);
		jb_putn(j, "\"", 1);
	} else {
		jb_putn(j, t, (size_t)n);
	}
}

void jb_u64(struct jb *j, const char *key, uint64_t v)
{
	char t[32];
	int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
	jb_key(j, key);
	if (v >= (uint64_t)1 << 53) {
		jb_putn(j, "\"", 1);
		jb_putn(j, t, (size_t)n);
		jb_putn(j, "\"", 1);
	} else {
		jb_putn(j, t, (size_t)n);
	}
}

void jb_bool(struct jb *j, const char *key, int v)
{
	jb_key(j, key);
	jb_raw(j, v ? "true" : "false");
}

void jb_double(struct jb *j, const char *key, double v)
{
	char t[40];
	int n = snprintf(t, sizeof t, "%.3f", v);
	jb_key(j, key);
	jb_putn(j, t, (size_t)n);
}

void jb_str(struct jb *j, const char *key, const char *s)
{
	jb_strn(j, key, s, strlen(s));
}

void jb_strn(struct jb *j, const char *key, const char *s, size_t n)
{
	jb_key(j, key);
	jb_escaped(j, s, n);
}

void jb_hex(struct jb *j, const char *key, const unsigned char *p, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	jb_key(j, key);
	jb_putn(j, "\"", 1);
	for (size_t k = 0; k < n; k++) {
		char e[2] = { hexd[p[k] >> 4], hexd[p[k] & 15] };
		jb_putn(j, e, 2);
	}
	jb_putn(j, "\"", 1);
}

void jb_ret(struct jb *j, int64_t ret)
{
	jb_i64(j, "ret", ret);
	if (ret < 0)
		jb_str(j, "errno_name", tf_errno_name((int)-ret));
}

const char *tf_errno_name(int err)
{
	switch (err) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EBADFD: return "EBADFD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EROFS: return "EROFS";
	case ERANGE: return "ERANGE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOSYS: return "ENOSYS";
	case EOVERFLOW: return "EOVERFLOW";
	case ETIME: return "ETIME";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOTSUPP_DSIM: return "ENOTSUPP";
	case ERESTARTSYS_DSIM: return "ERESTARTSYS";
	default: return "E?";
	}
}

/* One field of a decoded struct: where it is and whether the kernel writes it back. */
struct tf_field {
	const char *name;
	unsigned char off, size, is_signed, out;
};

struct tf_ioctl {
	unsigned long req;
	const char *name;
	const struct tf_field *fields;
	int nfields;
};

#define F(n, o, s, sg, out) { n, o, s, sg, out }
static const struct tf_field f_gem_close[] = { F("handle", 0, 4, 0, 0), F("pad", 4, 4, 0, 0) };
static const struct tf_field f_gem_flink[] = { F("handle", 0, 4, 0, 0), F("name", 4, 4, 0, 1) };
static const struct tf_field f_gem_open[] = { F("name", 0, 4, 0, 0), F("handle", 4, 4, 0, 1), F("size", 8, 8, 0, 1) };
static const struct tf_field f_h2fd[] = { F("handle", 0, 4, 0, 0), F("flags", 4, 4, 0, 0), F("fd", 8, 4, 1, 1) };
static const struct tf_field f_fd2h[] = { F("fd", 8, 4, 1, 0), F("flags", 4, 4, 0, 0), F("handle", 0, 4, 0, 1) };
static const struct tf_field f_create[] = { F("height", 0, 4, 0, 0), F("width", 4, 4, 0, 0), F("bpp", 8, 4, 0, 0),
	F("flags", 12, 4, 0, 0), F("handle", 16, 4, 0, 1), F("pitch", 20, 4, 0, 1), F("size", 24, 8, 0, 1) };
static const struct tf_field f_map[] = { F("handle", 0, 4, 0, 0), F("pad", 4, 4, 0, 0), F("offset", 8, 8, 0, 1) };
static const struct tf_field f_destroy[] = { F("handle", 0, 4, 0, 0) };
static const struct tf_field f_fattach[] = { F("handle", 0, 4, 0, 0), F("flags", 4, 4, 0, 0), F("out_fence", 8, 4, 0, 1), F("pad", 12, 4, 0, 0) };
static const struct tf_field f_fsignal[] = { F("fence", 0, 4, 0, 0), F("flags", 4, 4, 0, 0) };
static const struct tf_field f_sync[] = { F("flags", 0, 8, 0, 0) };
static const struct tf_field f_export_sf[] = { F("flags", 0, 4, 0, 0), F("fd", 4, 4, 1, 1) };
static const struct tf_field f_import_sf[] = { F("flags", 0, 4, 0, 0), F("fd", 4, 4, 1, 0) };
static const struct tf_field f_kvmfr_create[] = { F("flags", 0, 1, 0, 0), F("offset", 8, 8, 0, 0), F("size", 16, 8, 0, 0) };
static const struct tf_field f_heap_alloc[] = { F("len", 0, 8, 0, 0), F("fd", 8, 4, 0, 1), F("fd_flags", 12, 4, 0, 0), F("heap_flags", 16, 8, 0, 0) };
static const struct tf_field f_udmabuf_create[] = { F("memfd", 0, 4, 0, 0), F("flags", 4, 4, 0, 0), F("offset", 8, 8, 0, 0), F("size", 16, 8, 0, 0) };
static const struct tf_field f_udmabuf_list[] = { F("flags", 0, 4, 0, 0), F("count", 4, 4, 0, 0) };
#undef F

#define T(r, n, f) { r, n, f, (int)(sizeof(f) / sizeof((f)[0])) }
static const struct tf_ioctl tf_table[] = {
	{ DSIM_DRM_IOCTL_VERSION, "DRM_IOCTL_VERSION", NULL, 0 },
	T(DSIM_DRM_IOCTL_GEM_CLOSE, "DRM_IOCTL_GEM_CLOSE", f_gem_close),
	T(DSIM_DRM_IOCTL_GEM_FLINK, "DRM_IOCTL_GEM_FLINK", f_gem_flink),
	T(DSIM_DRM_IOCTL_GEM_OPEN, "DRM_IOCTL_GEM_OPEN", f_gem_open),
	T(DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD, "DRM_IOCTL_PRIME_HANDLE_TO_FD", f_h2fd),
	T(DSIM_DRM_IOCTL_PRIME_FD_TO_HANDLE, "DRM_IOCTL_PRIME_FD_TO_HANDLE", f_fd2h),
	T(DSIM_DRM_IOCTL_MODE_CREATE_DUMB, "DRM_IOCTL_MODE_CREATE_DUMB", f_create),
	T(DSIM_DRM_IOCTL_MODE_MAP_DUMB, "DRM_IOCTL_MODE_MAP_DUMB", f_map),
	T(DSIM_DRM_IOCTL_MODE_DESTROY_DUMB, "DRM_IOCTL_MODE_DESTROY_DUMB", f_destroy),
	T(DSIM_DRM_IOCTL_VGEM_FENCE_ATTACH, "DRM_IOCTL_VGEM_FENCE_ATTACH", f_fattach),
	T(DSIM_DRM_IOCTL_VGEM_FENCE_SIGNAL, "DRM_IOCTL_VGEM_FENCE_SIGNAL", f_fsignal),
	T(DSIM_DMA_BUF_IOCTL_SYNC, "DMA_BUF_IOCTL_SYNC", f_sync),
	{ DSIM_DMA_BUF_SET_NAME_A, "DMA_BUF_SET_NAME_A", NULL, 0 },
	{ DSIM_DMA_BUF_SET_NAME_B, "DMA_BUF_SET_NAME", NULL, 0 },
	T(DSIM_DMA_BUF_IOCTL_EXPORT_SYNC_FILE, "DMA_BUF_IOCTL_EXPORT_SYNC_FILE", f_export_sf),
	T(DSIM_DMA_BUF_IOCTL_IMPORT_SYNC_FILE, "DMA_BUF_IOCTL_IMPORT_SYNC_FILE", f_import_sf),
	{ DSIM_KVMFR_DMABUF_GETSIZE, "KVMFR_DMABUF_GETSIZE", NULL, 0 },
	T(DSIM_KVMFR_DMABUF_CREATE, "KVMFR_DMABUF_CREATE", f_kvmfr_create),
	T(DSIM_DMA_HEAP_IOCTL_ALLOC, "DMA_HEAP_IOCTL_ALLOC", f_heap_alloc),
	T(DSIM_UDMABUF_CREATE, "UDMABUF_CREATE", f_udmabuf_create),
	T(DSIM_UDMABUF_CREATE_LIST, "UDMABUF_CREATE_LIST", f_udmabuf_list),
};
#undef T

/* The entry of a request; `name` picks among entries sharing a number (UDMABUF_CREATE = KVMFR_DMABUF_CREATE),
 * NULL takes the first. */
static const struct tf_ioctl *tf_find_named(unsigned long req, const char *name)
{
	for (size_t k = 0; k < sizeof tf_table / sizeof tf_table[0]; k++)
		if (tf_table[k].req == req && (!name || strcmp(tf_table[k].name, name) == 0))
			return &tf_table[k];
	return NULL;
}

static const char *tf_name_hint;

static const struct tf_ioctl *tf_find(unsigned long req)
{
	const struct tf_ioctl *t = tf_name_hint ? tf_find_named(req, tf_name_hint) : NULL;
	return t ? t : tf_find_named(req, NULL);
}

void tf_ioctl_prefer(const char *name)
{
	tf_name_hint = name;
}

const char *tf_ioctl_name(unsigned long req)
{
	const struct tf_ioctl *t = tf_find(req);
	return t ? t->name : NULL;
}

size_t tf_ioctl_insize(unsigned long req)
{
	const struct tf_ioctl *t = tf_find(req);
	if (t && req == DSIM_UDMABUF_CREATE_LIST)
		return DSIM_UDMABUF_LIST_HEAD;
	if (!t || req == DSIM_DMA_BUF_SET_NAME_A || req == DSIM_DMA_BUF_SET_NAME_B || req == DSIM_KVMFR_DMABUF_GETSIZE)
		return 0;
	return _IOC_SIZE(req);
}

static uint64_t tf_get(const void *s, const struct tf_field *f)
{
	const unsigned char *p = (const unsigned char *)s + f->off;
	switch (f->size) {
	case 1: return p[0];
	case 4: {
		uint32_t v;
		memcpy(&v, p, 4);
		return f->is_signed ? (uint64_t)(int64_t)(int32_t)v : v;
	}
	default: {
		uint64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	}
}

static void tf_field_out(struct jb *j, const void *s, const struct tf_field *f)
{
	uint64_t v = tf_get(s, f);
	if (f->is_signed)
		jb_i64(j, f->name, (int64_t)v);
	else
		jb_u64(j, f->name, v);
}

void tf_ioctl_args(struct jb *j, unsigned long req, const void *in, unsigned long arg, tf_peek_fn peek)
{
	const struct tf_ioctl *t = tf_find(req);
	jb_open(j, "args");
	if (!t) {
		jb_close(j);
		return;
	}
	if (req == DSIM_DRM_IOCTL_VERSION) {
		const struct dsim_drm_version *v = in;
		jb_u64(j, "name_len", v->name_len);
		jb_u64(j, "date_len", v->date_len);
		jb_u64(j, "desc_len", v->desc_len);
	} else if (req == DSIM_DMA_BUF_SET_NAME_A || req == DSIM_DMA_BUF_SET_NAME_B) {
		char name[257];
		size_t n = 0;
		/* Byte by byte up to the NUL, as strndup_user reads it. */
		while (n < sizeof name - 1 && peek(&name[n], (const char *)arg + n, 1) == 1 && name[n])
			n++;
		jb_strn(j, "name", name, n);
		jb_u64(j, "name_len", n);
	} else if (req == DSIM_KVMFR_DMABUF_GETSIZE) {
		jb_u64(j, "arg", arg);
	} else if (req == DSIM_UDMABUF_CREATE_LIST && strcmp(t->name, "UDMABUF_CREATE_LIST") == 0) {
		/* head, then the items the kernel reads (count of them, when count <= list_limit): at most 64 logged */
		uint32_t head[2];
		memcpy(head, in, sizeof head);
		jb_u64(j, "flags", head[0]);
		jb_u64(j, "count", head[1]);
		jb_open_arr(j, "list");
		for (uint32_t k = 0; k < head[1] && k < 64 && arg; k++) {
			struct dsim_udmabuf_create_item it;
			if (peek(&it, (const char *)arg + DSIM_UDMABUF_LIST_HEAD + k * sizeof it, sizeof it) != sizeof it)
				break;
			jb_open(j, NULL);
			jb_u64(j, "memfd", it.memfd);
			jb_u64(j, "offset", it.offset);
			jb_u64(j, "size", it.size);
			jb_close(j);
		}
		jb_close_arr(j);
	} else {
		for (int k = 0; k < t->nfields; k++)
			tf_field_out(j, in, &t->fields[k]);
	}
	jb_close(j);
}

void tf_ioctl_result(struct jb *j, unsigned long req, const void *in, const void *out, int64_t ret, tf_peek_fn peek)
{
	const struct tf_ioctl *t = tf_find(req);
	if (!t)
		return;
	if (req == DSIM_DRM_IOCTL_VERSION) {
		const struct dsim_drm_version *vi = in, *vo = out;
		if (ret < 0)
			return;
		jb_i64(j, "version_major", vo->version_major);
		jb_i64(j, "version_minor", vo->version_minor);
		jb_i64(j, "version_patchlevel", vo->version_patchlevel);
		const char *names[3] = { "name", "date", "desc" };
		size_t lin[3] = { vi->name_len, vi->date_len, vi->desc_len };
		size_t lout[3] = { vo->name_len, vo->date_len, vo->desc_len };
		char *ptr[3] = { vi->name, vi->date, vi->desc };
		for (int k = 0; k < 3; k++) {
			char key[16], text[256];
			snprintf(key, sizeof key, "%s_len", names[k]);
			jb_u64(j, key, lout[k]);
			size_t n = lin[k] < lout[k] ? lin[k] : lout[k];
			if (n > sizeof text)
				n = sizeof text;
			size_t got = ptr[k] && n ? peek(text, ptr[k], n) : 0;
			size_t sl = 0;
			while (sl < got && text[sl])
				sl++;
			jb_strn(j, names[k], text, sl);
		}
		return;
	}
	for (int k = 0; k < t->nfields; k++)
		if (t->fields[k].out)
			tf_field_out(j, out, &t->fields[k]);
}

const char *tf_fcntl_name(int cmd)
{
	switch (cmd) {
	case F_DUPFD: return "F_DUPFD";
	case F_GETFD: return "F_GETFD";
	case F_SETFD: return "F_SETFD";
	case F_GETFL: return "F_GETFL";
	case F_SETFL: return "F_SETFL";
	case F_DUPFD_CLOEXEC: return "F_DUPFD_CLOEXEC";
	case 1033: return "F_ADD_SEALS"; /* F_LINUX_SPECIFIC_BASE + 9 */
	case 1034: return "F_GET_SEALS";
	default: return NULL;
	}
}

const char *tf_accmode_name(long flags)
{
	switch (flags & O_ACCMODE) {
	case O_RDONLY: return "O_RDONLY";
	case O_WRONLY: return "O_WRONLY";
	default: return "O_RDWR";
	}
}

unsigned long tf_ioctl_by_name(const char *name)
{
	for (size_t k = 0; k < sizeof tf_table / sizeof tf_table[0]; k++)
		if (strcmp(tf_table[k].name, name) == 0)
			return tf_table[k].req;
	return 0;
}

int tf_ioctl_put(unsigned long req, void *s, const char *field, uint64_t v)
{
	const struct tf_ioctl *t = tf_find(req);
	for (int k = 0; t && k < t->nfields; k++) {
		const struct tf_field *f = &t->fields[k];
		if (strcmp(f->name, field) != 0)
			continue;
		unsigned char *p = (unsigned char *)s + f->off;
		if (f->size == 1) {
			p[0] = (unsigned char)v;
		} else if (f->size == 4) {
			uint32_t w = (uint32_t)v;
			memcpy(p, &w, 4);
		} else {
			memcpy(p, &v, 8);
		}
		return 0;
	}
	return -1;
}
