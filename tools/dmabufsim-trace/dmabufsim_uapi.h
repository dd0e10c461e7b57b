/* The Linux 6.1 uAPI structs and ioctl numbers that DmaBufSim models (DRM core, dumb buffers, PRIME, vgem
 * fences, dma-buf, kvmfr), written out here so the tools build without libdrm headers. Layouts are the
 * x86_64 ones (LP64). */
#ifndef DMABUFSIM_UAPI_H
#define DMABUFSIM_UAPI_H

#include <stddef.h>
#include <stdint.h>
#include <linux/ioctl.h>

struct dsim_drm_version {
	int version_major;
	int version_minor;
	int version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};
struct dsim_drm_gem_close { uint32_t handle, pad; };
struct dsim_drm_gem_flink { uint32_t handle, name; };
struct dsim_drm_gem_open { uint32_t name, handle; uint64_t size; };
struct dsim_drm_prime_handle { uint32_t handle, flags; int32_t fd; };
struct dsim_drm_mode_create_dumb { uint32_t height, width, bpp, flags, handle, pitch; uint64_t size; };
struct dsim_drm_mode_map_dumb { uint32_t handle, pad; uint64_t offset; };
struct dsim_drm_mode_destroy_dumb { uint32_t handle; };
struct dsim_drm_vgem_fence_attach { uint32_t handle, flags, out_fence, pad; };
struct dsim_drm_vgem_fence_signal { uint32_t fence, flags; };
struct dsim_dma_buf_sync { uint64_t flags; };
struct dsim_dma_buf_export_sync_file { uint32_t flags; int32_t fd; };
struct dsim_dma_buf_import_sync_file { uint32_t flags; int32_t fd; };
struct dsim_kvmfr_dmabuf_create { uint8_t flags; uint64_t offset; uint64_t size; };
/* include/uapi/linux/dma-heap.h and udmabuf.h (6.12 = 6.1) */
struct dsim_dma_heap_allocation_data { uint64_t len; uint32_t fd, fd_flags; uint64_t heap_flags; };
struct dsim_udmabuf_create { uint32_t memfd, flags; uint64_t offset, size; };
struct dsim_udmabuf_create_item { uint32_t memfd; uint64_t offset, size; };
/* struct udmabuf_create_list { __u32 flags; __u32 count; struct udmabuf_create_item list[]; }: the head, then
 * count items (a flexible array: no dsim_ struct, the programs lay it out by hand) */
#define DSIM_UDMABUF_LIST_HEAD 8

#define DSIM_DRM_BASE 'd'
#define DSIM_DRM_COMMAND_BASE 0x40
#define DSIM_DRM_IOCTL_VERSION            _IOWR(DSIM_DRM_BASE, 0x00, struct dsim_drm_version)
#define DSIM_DRM_IOCTL_GEM_CLOSE          _IOW(DSIM_DRM_BASE, 0x09, struct dsim_drm_gem_close)
#define DSIM_DRM_IOCTL_GEM_FLINK          _IOWR(DSIM_DRM_BASE, 0x0a, struct dsim_drm_gem_flink)
#define DSIM_DRM_IOCTL_GEM_OPEN           _IOWR(DSIM_DRM_BASE, 0x0b, struct dsim_drm_gem_open)
#define DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD _IOWR(DSIM_DRM_BASE, 0x2d, struct dsim_drm_prime_handle)
#define DSIM_DRM_IOCTL_PRIME_FD_TO_HANDLE _IOWR(DSIM_DRM_BASE, 0x2e, struct dsim_drm_prime_handle)
#define DSIM_DRM_IOCTL_MODE_CREATE_DUMB   _IOWR(DSIM_DRM_BASE, 0xB2, struct dsim_drm_mode_create_dumb)
#define DSIM_DRM_IOCTL_MODE_MAP_DUMB      _IOWR(DSIM_DRM_BASE, 0xB3, struct dsim_drm_mode_map_dumb)
#define DSIM_DRM_IOCTL_MODE_DESTROY_DUMB  _IOWR(DSIM_DRM_BASE, 0xB4, struct dsim_drm_mode_destroy_dumb)
#define DSIM_DRM_IOCTL_VGEM_FENCE_ATTACH  _IOWR(DSIM_DRM_BASE, DSIM_DRM_COMMAND_BASE + 1, struct dsim_drm_vgem_fence_attach)
#define DSIM_DRM_IOCTL_VGEM_FENCE_SIGNAL  _IOW(DSIM_DRM_BASE, DSIM_DRM_COMMAND_BASE + 2, struct dsim_drm_vgem_fence_signal)
#define DSIM_DRM_CLOEXEC 0x80000u   /* O_CLOEXEC */
#define DSIM_DRM_RDWR    0x2u       /* O_RDWR */
#define DSIM_VGEM_FENCE_WRITE 0x1u

#define DSIM_DMA_BUF_BASE 'b'
#define DSIM_DMA_BUF_IOCTL_SYNC             _IOW(DSIM_DMA_BUF_BASE, 0, struct dsim_dma_buf_sync)
#define DSIM_DMA_BUF_SET_NAME_A             _IOW(DSIM_DMA_BUF_BASE, 1, uint32_t)
#define DSIM_DMA_BUF_SET_NAME_B             _IOW(DSIM_DMA_BUF_BASE, 1, uint64_t)
#define DSIM_DMA_BUF_IOCTL_EXPORT_SYNC_FILE _IOWR(DSIM_DMA_BUF_BASE, 2, struct dsim_dma_buf_export_sync_file)
#define DSIM_DMA_BUF_IOCTL_IMPORT_SYNC_FILE _IOW(DSIM_DMA_BUF_BASE, 3, struct dsim_dma_buf_import_sync_file)
#define DSIM_DMA_BUF_SYNC_READ  1u
#define DSIM_DMA_BUF_SYNC_WRITE 2u
#define DSIM_DMA_BUF_SYNC_END   4u

#define DSIM_KVMFR_DMABUF_GETSIZE _IO('u', 0x44)
#define DSIM_KVMFR_DMABUF_CREATE  _IOW('u', 0x42, struct dsim_kvmfr_dmabuf_create)

#define DSIM_DMA_HEAP_IOCTL_ALLOC _IOWR('H', 0x0, struct dsim_dma_heap_allocation_data)
/* the same number as KVMFR_DMABUF_CREATE (both _IOW('u', 0x42, 24 bytes)): the fd's kind tells them apart */
#define DSIM_UDMABUF_CREATE       _IOW('u', 0x42, struct dsim_udmabuf_create)
#define DSIM_UDMABUF_CREATE_LIST  _IOC(_IOC_WRITE, 'u', 0x43, DSIM_UDMABUF_LIST_HEAD)
#define DSIM_UDMABUF_FLAGS_CLOEXEC 0x01u

#endif
