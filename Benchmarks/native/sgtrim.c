// DmaBufSim's native C yardstick for the SG trimming benchmark (Benchmarks/SgTrimBenchmarks.cs): the trimming loop
// of ib_umem_dmabuf_map_pages and the restore of ib_umem_dmabuf_unmap_pages (drivers/infiniband/core/umem_dmabuf.c,
// Linux 6.1) over a chained scatterlist shaped like the kernel's (include/linux/scatterlist.h: 32-byte entries,
// SG_CHAIN/SG_END bits in page_link, one 4 KiB page of 128 slots per chunk whose last slot chains to the next
// chunk), with the chunks on pages in a shuffled order as separately allocated kernel pages are. Written for this
// project; built with gcc at benchmark time by Benchmarks/run-sgtrim.sh.
//
// Output: CSV, header kind,build,layout,N,window,method,walked,median_ns,min_ns,max_ns; one "trim" row per
// (N, window, method); one operation = map_pages trim + unmap_pages restore on the same warm table; median, min and
// max of --reps samples of about 20 ms each.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_SIZE 4096UL
#define SG_CHAIN 0x01UL
#define SG_END 0x02UL
#define SLOTS 128 /* PAGE_SIZE / sizeof(struct scatterlist) */
#define ENTRY_LEN (64UL * 1024)

struct scatterlist {
    unsigned long page_link;
    unsigned int offset;
    unsigned int length;
    uint64_t dma_address;
    unsigned int dma_length;
    unsigned int pad;
};
_Static_assert(sizeof(struct scatterlist) == 32, "kernel-shaped entry");

static inline int sg_is_chain(const struct scatterlist *sg) { return (sg->page_link & SG_CHAIN) != 0; }
static inline int sg_is_last(const struct scatterlist *sg) { return (sg->page_link & SG_END) != 0; }
static inline struct scatterlist *sg_chain_ptr(const struct scatterlist *sg) { return (struct scatterlist *)(sg->page_link & ~(SG_CHAIN | SG_END)); }

static inline struct scatterlist *sg_next(struct scatterlist *sg)
{
    if (sg_is_last(sg))
        return NULL;
    sg++;
    if (__builtin_expect(sg_is_chain(sg), 0)) {
        sg = sg_chain_ptr(sg);
        /* Keep the hop a predicted branch: as a cmov, every step would wait for the next slot's page_link load. */
        __asm__ volatile("" : "+r"(sg));
    }
    return sg;
}

struct table {
    struct scatterlist *sgl;
    unsigned long nents;
    struct scatterlist **chunk; /* chunk k holds entries k * 127 .. k * 127 + 126 (slot 127 is the chain link) */
    struct scatterlist **index; /* entry i, to check the restore */
    uint64_t *cum;              /* cum[i] = sum of dma_length of entries < i */
    void *pool;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void build(struct table *t, unsigned long n)
{
    unsigned long per = SLOTS - 1; /* the last slot of a chunk is the chain link */
    unsigned long chunks = (n + per - 1) / per;
    if (posix_memalign(&t->pool, PAGE_SIZE, chunks * PAGE_SIZE) != 0) {
        perror("posix_memalign");
        exit(1);
    }
    memset(t->pool, 0, chunks * PAGE_SIZE);
    unsigned long *perm = malloc(chunks * sizeof *perm);
    for (unsigned long k = 0; k < chunks; k++)
        perm[k] = k;
    for (unsigned long k = chunks; k > 1; k--) {
        unsigned long j = rng() % k;
        unsigned long tmp = perm[k - 1];
        perm[k - 1] = perm[j];
        perm[j] = tmp;
    }
    t->index = malloc(n * sizeof *t->index);
    t->chunk = malloc(chunks * sizeof *t->chunk);
    t->cum = malloc((n + 1) * sizeof *t->cum);
    t->nents = n;
    struct scatterlist *prev_chunk = NULL;
    unsigned long i = 0;
    for (unsigned long k = 0; k < chunks; k++) {
        struct scatterlist *chunk = (struct scatterlist *)((char *)t->pool + perm[k] * PAGE_SIZE);
        t->chunk[k] = chunk;
        if (prev_chunk)
            prev_chunk[SLOTS - 1].page_link = (unsigned long)chunk | SG_CHAIN;
        else
            t->sgl = chunk;
        for (unsigned long s = 0; s < per && i < n; s++, i++) {
            chunk[s].page_link = 0x1000UL * (i + 1); /* a struct page pointer stand-in, low bits clear */
            chunk[s].length = (unsigned int)ENTRY_LEN;
            chunk[s].dma_address = 0x100000000ULL + i * ENTRY_LEN;
            chunk[s].dma_length = (unsigned int)ENTRY_LEN;
            t->index[i] = &chunk[s];
        }
        prev_chunk = chunk;
    }
    t->index[n - 1]->page_link |= SG_END;
    t->cum[0] = 0;
    for (i = 0; i < n; i++)
        t->cum[i + 1] = t->cum[i] + t->index[i]->dma_length;
    free(perm);
}

static inline struct scatterlist *entry(const struct table *t, unsigned long i)
{
    return t->chunk[i / (SLOTS - 1)] + i % (SLOTS - 1);
}

struct umem {
    struct scatterlist *first_sg, *last_sg;
    unsigned long first_sg_offset, last_sg_trim;
    unsigned int nmap;
    unsigned long walked;
};

/* The kernel loop: for_each_sgtable_dma_sg over nents entries with sg_next. */
static inline __attribute__((always_inline)) void map_walk(struct table *t, struct umem *u, unsigned long address, unsigned long length)
{
    unsigned long start = address & ~(PAGE_SIZE - 1);
    unsigned long end = (address + length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    unsigned long cur = 0;
    unsigned int nmap = 0;
    unsigned long i = 0;
    const unsigned long nents = t->nents; /* a local: the entry writes below may alias *t */
    struct scatterlist *sg;
    for (sg = t->sgl; i < nents; i++, sg = sg_next(sg)) {
        if (start < cur + sg->dma_length && cur < end)
            nmap++;
        if (cur <= start && start < cur + sg->dma_length) {
            unsigned long offset = start - cur;
            u->first_sg = sg;
            u->first_sg_offset = offset;
            sg->dma_address += offset;
            sg->dma_length -= offset;
            cur += offset;
        }
        if (cur < end && end <= cur + sg->dma_length) {
            unsigned long trim = cur + sg->dma_length - end;
            u->last_sg = sg;
            u->last_sg_trim = trim;
            sg->dma_length -= trim;
            i++;
            break;
        }
        cur += sg->dma_length;
    }
    u->nmap = nmap;
    u->walked = i;
}

/* The same result from the prefix sums: two binary searches, then the same two in-place edits. */
static inline __attribute__((always_inline)) void map_indexed(struct table *t, struct umem *u, unsigned long address, unsigned long length)
{
    unsigned long start = address & ~(PAGE_SIZE - 1);
    unsigned long end = (address + length + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    unsigned long probes = 0;
    const uint64_t *cum = t->cum;
    /* Invariant cum[a] <= start < cum[b]; the body is a select the compiler makes branch-free (cmov). */
    unsigned long a = 0, b = t->nents;
    while (b - a > 1) {
        unsigned long m = a + (b - a) / 2;
        int left = cum[m] <= start;
        a = left ? m : a;
        b = left ? b : m;
        probes++;
    }
    const unsigned long first = a;
    /* Invariant cum[a] < end <= cum[b]: the last entry is b - 1. */
    b = t->nents;
    while (b - a > 1) {
        unsigned long m = a + (b - a) / 2;
        int left = cum[m] < end;
        a = left ? m : a;
        b = left ? b : m;
        probes++;
    }
    const unsigned long last = b - 1;
    u->nmap = (unsigned int)(last - first + 1);
    struct scatterlist *f = entry(t, first);
    u->first_sg = f;
    u->first_sg_offset = start - t->cum[first];
    f->dma_address += u->first_sg_offset;
    f->dma_length -= (unsigned int)u->first_sg_offset;
    struct scatterlist *l = entry(t, last);
    u->last_sg = l;
    u->last_sg_trim = t->cum[last + 1] - end;
    l->dma_length -= (unsigned int)u->last_sg_trim;
    u->walked = probes;
}

static inline __attribute__((always_inline)) void unmap(struct umem *u)
{
    if (u->first_sg) {
        u->first_sg->dma_address -= u->first_sg_offset;
        u->first_sg->dma_length += (unsigned int)u->first_sg_offset;
        u->first_sg = NULL;
        u->first_sg_offset = 0;
    }
    if (u->last_sg) {
        u->last_sg->dma_length += (unsigned int)u->last_sg_trim;
        u->last_sg = NULL;
        u->last_sg_trim = 0;
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The timed loop, one copy per method so that each map call is inlined (no indirect call per operation). */
#define TIMED(map, t, u, addr, len, iters)                      \
    ({                                                          \
        double t0_ = now_ns();                                  \
        for (unsigned long k_ = 0; k_ < (iters); k_++) {        \
            map((t), (u), (addr), (len));                       \
            __asm__ volatile("" ::: "memory");                  \
            unmap(u);                                           \
        }                                                       \
        now_ns() - t0_;                                         \
    })

static double timed(int method, struct table *t, struct umem *u, unsigned long addr, unsigned long len, unsigned long iters)
{
    return method == 0 ? TIMED(map_walk, t, u, addr, len, iters) : TIMED(map_indexed, t, u, addr, len, iters);
}

int main(int argc, char **argv)
{
    int reps = 5;
    const char *build_name = "o2";
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--reps") && a + 1 < argc)
            reps = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--build") && a + 1 < argc)
            build_name = argv[++a];
    }
    if (reps < 1 || reps > 99) {
        fprintf(stderr, "sgtrim: --reps: expected 1 to 99\n");
        return 2;
    }
    static const unsigned long sizes[] = { 16, 1024, 65536, 1048576 };
    static const char *windows[] = { "first-page", "last-page", "middle-1pct", "whole" };
    static const char *methods[] = { "walk", "indexed" };
    printf("kind,build,layout,N,window,method,walked,median_ns,min_ns,max_ns\n");
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        struct table t;
        build(&t, sizes[si]);
        unsigned long total = sizes[si] * ENTRY_LEN;
        for (int w = 0; w < 4; w++) {
            unsigned long addr, len;
            switch (w) {
            case 0: addr = 0; len = PAGE_SIZE; break;
            case 1: addr = total - PAGE_SIZE; len = PAGE_SIZE; break;
            case 2:
                addr = (total / 1000 * 495) & ~(PAGE_SIZE - 1);
                len = (total / 100) & ~(PAGE_SIZE - 1);
                if (len < PAGE_SIZE)
                    len = PAGE_SIZE;
                break;
            default: addr = 0; len = total; break;
            }
            for (int m = 0; m < 2; m++) {
                struct umem u = { 0 };
                /* calibrate: iterations for about 20 ms */
                unsigned long iters = 1;
                while (timed(m, &t, &u, addr, len, iters) < 2e7 && iters < (1UL << 30))
                    iters *= 2;
                double samples[99];
                for (int r = 0; r < reps; r++)
                    samples[r] = timed(m, &t, &u, addr, len, iters) / iters;
                if (m == 0)
                    map_walk(&t, &u, addr, len);
                else
                    map_indexed(&t, &u, addr, len);
                unsigned long walked = u.walked;
                unmap(&u);
                qsort(samples, reps, sizeof *samples, cmp_double);
                printf("trim,%s,scatter,%lu,%s,%s,%lu,%.2f,%.2f,%.2f\n", build_name, sizes[si], windows[w], methods[m], walked,
                       samples[reps / 2], samples[0], samples[reps - 1]);
                fflush(stdout);
            }
        }
        /* the table is left as built: every map was undone */
        for (unsigned long i = 0; i < t.nents; i++) {
            if (t.index[i]->dma_length != ENTRY_LEN || t.index[i]->dma_address != 0x100000000ULL + i * ENTRY_LEN) {
                fprintf(stderr, "sgtrim: entry %lu not restored\n", i);
                return 1;
            }
        }
        free(t.index);
        free(t.chunk);
        free(t.cum);
        free(t.pool);
    }
    return 0;
}
