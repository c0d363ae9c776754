// C wrappers over libpng, libjpeg and zlib; their setjmp error handling stays in C
// (Swift cannot call setjmp). Every reader fills `cio_raster` and returns 0, or
// returns -1 with a one-line reason in `error`; free the pixels with cio_raster_free.
#ifndef CIMAGEIO_H
#define CIMAGEIO_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/// Decoded samples: `channels` interleaved per pixel, row-major.
/// `bytes_per_sample` is 1 (uint8) or 2 (uint16, host byte order).
typedef struct {
    int width;
    int height;
    int channels;          ///< 1 (gray or palette index) or 3 (RGB); alpha is dropped
    int bytes_per_sample;  ///< 1 or 2
    int bit_depth;         ///< the file's bits per sample (1, 2, 4, 8, 16)
    int is_palette;        ///< 1 when `pixels` are palette indices (read with keep_palette_indices)
    void *pixels;
    char error[256];
} cio_raster;

/// The most pixels a PNG or JPEG may claim: by default 2^28 (e.g. 16384 × 16384); a header
/// beyond that is damaged or hostile and is refused before its buffer is allocated (fuzzing
/// found a 703-byte JPEG claiming 65500 × 65500 that took 21 s and 4 GB). The environment
/// variable SEGTUNE_MAX_PIXELS (a positive whole number) replaces it, for larger images.
#define CIO_DEFAULT_MAX_PIXELS ((uint64_t)1 << 28)
uint64_t cio_max_pixels(void);

/// libpng's version string.
const char *cio_png_version(void);

/// Reads a PNG with libpng's full API (no gamma correction is ever applied).
/// Gray 1/2/4-bit samples keep their values (0…2^bits−1). Palette images are expanded
/// to RGB, unless `keep_palette_indices` (for label masks), which returns the indices.
int cio_png_read(const char *path, int keep_palette_indices, cio_raster *out);

/// Writes an 8-bit PNG, gray (`channels` 1) or RGB (3), to exactly `path`
/// (the caller does the atomic rename).
int cio_png_write8(const char *path, const uint8_t *pixels, int width, int height, int channels,
                   char *error, size_t error_size);

/// Reads a baseline/progressive 8-bit JPEG as gray (1 channel) or RGB (3 channels).
/// A file that libjpeg decodes only with warnings (truncated, corrupt data) is rejected.
int cio_jpeg_read(const char *path, cio_raster *out);

void cio_raster_free(cio_raster *raster);

/// Reads a whole file, inflating it when it is gzip-compressed (zlib), into a
/// malloc'd buffer the caller frees with cio_free. Truncated gzip data is an error.
int cio_read_maybe_gzip(const char *path, uint8_t **data, size_t *size, char *error, size_t error_size);

void cio_free(void *pointer);

/// Writes `data` gzip-compressed to `path` (the caller renames it into place).
int cio_write_gzip(const char *path, const uint8_t *data, size_t size, char *error, size_t error_size);

/// Inflates a gzip or zlib stream into exactly `output_size` bytes; fewer (truncated) or
/// more (a header that understates the data) is an error with a one-line reason.
int cio_inflate_exact(const uint8_t *input, size_t input_size, uint8_t *output, size_t output_size,
                      char *error, size_t error_size);

/// Compresses `input` into a gzip stream in a malloc'd buffer the caller frees with cio_free.
int cio_gzip_compress(const uint8_t *input, size_t input_size, uint8_t **output, size_t *output_size,
                      char *error, size_t error_size);

#ifdef __cplusplus
}
#endif
#endif
