// PNG through libpng's full API: the simplified png_image_* API applies gamma when a
// gAMA chunk is present, which would change 16-bit medical values.
#include "cimageio.h"
#include <png.h>
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cio_png_version(void) { return PNG_LIBPNG_VER_STRING; }

typedef struct {
    jmp_buf jump;
    char *message;
    size_t message_size;
} png_failure;

static void on_png_error(png_structp png, png_const_charp message) {
    png_failure *failure = (png_failure *)png_get_error_ptr(png);
    // libpng's stdio reader says only "Read Error" when the file ends early.
    if (strcmp(message, "Read Error") == 0) message = "the file ends early: truncated?";
    snprintf(failure->message, failure->message_size, "not a readable PNG (%s)", message);
    longjmp(failure->jump, 1);
}

// Ancillary-chunk problems (a bad CRC in tEXt, say) are warnings: the pixels are fine.
static void on_png_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

int cio_png_read(const char *path, int keep_palette_indices, cio_raster *out) {
    memset(out, 0, sizeof *out);
    FILE *file = fopen(path, "rb");
    if (!file) { snprintf(out->error, sizeof out->error, "%s", strerror(errno)); return -1; }
    unsigned char signature[8];
    size_t got = fread(signature, 1, 8, file);
    if (got == 0) { fclose(file); snprintf(out->error, sizeof out->error, "empty file"); return -1; }
    if (got < 8 || png_sig_cmp(signature, 0, 8) != 0) {
        fclose(file); snprintf(out->error, sizeof out->error, "not a PNG file (bad signature)"); return -1;
    }
    png_failure failure = {.message = out->error, .message_size = sizeof out->error};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL); fclose(file);
        snprintf(out->error, sizeof out->error, "out of memory"); return -1;
    }
    // Declared volatile: they change between setjmp and a possible longjmp.
    void *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(failure.jump)) {
        free(pixels); free(rows);
        png_destroy_read_struct(&png, &info, NULL); fclose(file);
        return -1;
    }
    png_init_io(png, file);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, 65535, 65535);
    png_read_info(png, info);
    if ((uint64_t)png_get_image_width(png, info) * png_get_image_height(png, info) > cio_max_pixels())
        png_error(png, "more pixels than segtune reads (SEGTUNE_MAX_PIXELS sets the limit, 2^28 by default)");

    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    out->bit_depth = depth;
    if (depth < 8) png_set_packing(png);  // one sample per byte, values unscaled
    if (color == PNG_COLOR_TYPE_PALETTE) {
        if (keep_palette_indices) out->is_palette = 1;
        else { png_set_palette_to_rgb(png); out->bit_depth = 8; }  // palette entries are 8-bit
    }
    if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    const uint16_t byte_order_probe = 1;
    int little_endian_host = *(const uint8_t *)&byte_order_probe == 1;
    if (depth == 16 && little_endian_host) png_set_swap(png);  // PNG is big-endian; hand back host order
    png_set_interlace_handling(png);  // Adam7 files: png_read_image then runs all passes
    png_read_update_info(png, info);

    int width = (int)png_get_image_width(png, info);
    int height = (int)png_get_image_height(png, info);
    int channels = png_get_channels(png, info);
    int bytes = png_get_bit_depth(png, info) == 16 ? 2 : 1;
    size_t row_bytes = png_get_rowbytes(png, info);
    if (channels != 1 && channels != 3) png_error(png, "unexpected channel count");
    if (row_bytes != (size_t)width * channels * bytes) png_error(png, "unexpected row layout");
    pixels = malloc(row_bytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) png_error(png, "out of memory");
    for (int y = 0; y < height; y++) rows[y] = (png_bytep)pixels + row_bytes * y;
    png_read_image(png, rows);
    png_read_end(png, NULL);  // checks the CRCs of the chunks after the image data too

    out->width = width;
    out->height = height;
    out->channels = channels;
    out->bytes_per_sample = bytes;
    out->pixels = pixels;
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    return 0;
}

int cio_png_write8(const char *path, const uint8_t *pixels, int width, int height, int channels,
                   char *error, size_t error_size) {
    if (channels != 1 && channels != 3) { snprintf(error, error_size, "%d channels: 1 or 3 expected", channels); return -1; }
    FILE *file = fopen(path, "wb");
    if (!file) { snprintf(error, error_size, "%s", strerror(errno)); return -1; }
    png_failure failure = {.message = error, .message_size = error_size};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL); fclose(file);
        snprintf(error, error_size, "out of memory"); return -1;
    }
    if (setjmp(failure.jump)) {
        png_destroy_write_struct(&png, &info); fclose(file);
        return -1;
    }
    png_init_io(png, file);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * width * channels));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(file) != 0) { snprintf(error, error_size, "%s", strerror(errno)); return -1; }
    return 0;
}
