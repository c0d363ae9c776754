// JPEG through libjpeg. Its default error handler calls exit(): error_exit is replaced
// by a longjmp back here, and a file decoded with warnings (libjpeg pads a truncated
// file with gray and only warns) is rejected.
#include "cimageio.h"
#include <limits.h>
#include <stdio.h>
#include <jpeglib.h>
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int corrupt;  ///< stopped by a warning, not an error
} jpeg_failure;

static void on_jpeg_error(j_common_ptr info) {
    jpeg_failure *failure = (jpeg_failure *)info->err;
    info->err->format_message(info, failure->message);
    longjmp(failure->jump, 1);
}

// A warning means corrupt data (e.g. "Premature end of JPEG file"), which is refused: stop
// at the first, since libjpeg would go on filling the whole claimed image with gray (a hang
// on a damaged header). Trace messages (level > 0) are not printed.
static void on_jpeg_message(j_common_ptr info, int level) {
    if (level >= 0) return;
    ((jpeg_failure *)info->err)->corrupt = 1;
    on_jpeg_error(info);
}

int cio_jpeg_read(const char *path, cio_raster *out) {
    memset(out, 0, sizeof *out);
    FILE *file = fopen(path, "rb");
    if (!file) { snprintf(out->error, sizeof out->error, "%s", strerror(errno)); return -1; }
    if (fgetc(file) == EOF) { fclose(file); snprintf(out->error, sizeof out->error, "empty file"); return -1; }
    rewind(file);

    struct jpeg_decompress_struct info;
    jpeg_failure failure;
    info.err = jpeg_std_error(&failure.base);
    failure.base.error_exit = on_jpeg_error;
    failure.base.emit_message = on_jpeg_message;
    failure.corrupt = 0;
    unsigned char *volatile pixels = NULL;
    if (setjmp(failure.jump)) {
        // Over max_memory_to_use, libjpeg asks for a backing store (disk), which we have not.
        if (strstr(failure.message, "Backing store"))
            snprintf(failure.message, sizeof failure.message, "needs more than %llu MB to decode; SEGTUNE_MAX_PIXELS raises that, a byte a pixel",
                     (unsigned long long)(cio_max_pixels() >> 20));
        snprintf(out->error, sizeof out->error, "%s (%s)",
                 failure.corrupt ? "corrupt or truncated JPEG" : "not a readable JPEG", failure.message);
        free(pixels);
        jpeg_destroy_decompress(&info);
        fclose(file);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_stdio_src(&info, file);
    jpeg_read_header(&info, TRUE);
    const uint64_t max_pixels = cio_max_pixels();
    if ((uint64_t)info.image_width * info.image_height > max_pixels) {
        snprintf(failure.message, sizeof failure.message, "%u×%u: more pixels than segtune reads (%llu; SEGTUNE_MAX_PIXELS sets the limit)",
                 (unsigned)info.image_width, (unsigned)info.image_height, (unsigned long long)max_pixels);
        longjmp(failure.jump, 1);
    }
    // libjpeg's own buffers (a progressive file's whole-image coefficients: 8192 × 8192 gray
    // takes 128 MB) within a byte per allowed pixel (256 MB by default), so a few hundred
    // bytes cannot claim gigabytes.
    info.mem->max_memory_to_use = (long)(max_pixels < (uint64_t)LONG_MAX ? max_pixels : (uint64_t)LONG_MAX);
    if (info.num_components == 1) info.out_color_space = JCS_GRAYSCALE;
    else if (info.num_components == 3) info.out_color_space = JCS_RGB;
    else {
        snprintf(failure.message, sizeof failure.message, "%d color components (CMYK?) are not supported", info.num_components);
        longjmp(failure.jump, 1);
    }
    jpeg_start_decompress(&info);
    size_t row_bytes = (size_t)info.output_width * info.output_components;
    pixels = malloc(row_bytes * info.output_height);
    if (!pixels) { snprintf(failure.message, sizeof failure.message, "out of memory"); longjmp(failure.jump, 1); }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + row_bytes * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    out->width = (int)info.output_width;
    out->height = (int)info.output_height;
    out->channels = info.output_components;
    out->bytes_per_sample = 1;
    out->bit_depth = 8;
    out->pixels = pixels;
    jpeg_destroy_decompress(&info);
    fclose(file);
    return 0;
}
