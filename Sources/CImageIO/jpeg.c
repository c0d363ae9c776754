// JPEG through libjpeg. Its default error handler calls exit(): error_exit is replaced
// by a longjmp back here, and a file decoded with warnings (libjpeg pads a truncated
// file with gray and only warns) is rejected.
#include "cimageio.h"
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
} jpeg_failure;

static void on_jpeg_error(j_common_ptr info) {
    jpeg_failure *failure = (jpeg_failure *)info->err;
    info->err->format_message(info, failure->message);
    longjmp(failure->jump, 1);
}

// Warnings are counted (num_warnings) by emit_message; printing them is left to us: we don't.
static void on_jpeg_output(j_common_ptr info) { (void)info; }

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
    failure.base.output_message = on_jpeg_output;
    unsigned char *volatile pixels = NULL;
    if (setjmp(failure.jump)) {
        snprintf(out->error, sizeof out->error, "not a readable JPEG (%s)", failure.message);
        free(pixels);
        jpeg_destroy_decompress(&info);
        fclose(file);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_stdio_src(&info, file);
    jpeg_read_header(&info, TRUE);
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
    if (failure.base.num_warnings > 0) {
        // The last warning says what went wrong, e.g. "Premature end of JPEG file".
        failure.base.format_message((j_common_ptr)&info, failure.message);
        snprintf(out->error, sizeof out->error, "corrupt or truncated JPEG (%s)", failure.message);
        free(pixels);
        jpeg_destroy_decompress(&info);
        fclose(file);
        return -1;
    }
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
