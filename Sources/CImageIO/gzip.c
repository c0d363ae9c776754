#include "cimageio.h"
#include <zlib.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// gzread reads plain files as they are, so one function serves .nii and .nii.gz.
int cio_read_maybe_gzip(const char *path, uint8_t **data, size_t *size, char *error, size_t error_size) {
    *data = NULL;
    *size = 0;
    gzFile file = gzopen(path, "rb");
    if (!file) { snprintf(error, error_size, "%s", errno ? strerror(errno) : "cannot open"); return -1; }
    size_t capacity = 1 << 20, length = 0;
    uint8_t *buffer = malloc(capacity);
    for (;;) {
        if (!buffer) { gzclose(file); snprintf(error, error_size, "out of memory"); return -1; }
        if (length == capacity) {
            uint8_t *grown = realloc(buffer, capacity * 2);
            if (!grown) { free(buffer); buffer = NULL; continue; }
            buffer = grown;
            capacity *= 2;
        }
        size_t want = capacity - length;
        if (want > (1u << 30)) want = 1u << 30;
        int got = gzread(file, buffer + length, (unsigned)want);
        if (got < 0) {
            int code;
            const char *message = gzerror(file, &code);
            snprintf(error, error_size, "cannot decompress (%s)", message);
            free(buffer); gzclose(file); return -1;
        }
        if (got == 0) break;
        length += (size_t)got;
    }
    // A truncated .gz ends without error from gzread but fails here (Z_BUF_ERROR).
    int status = gzclose(file);
    if (status != Z_OK) {
        snprintf(error, error_size, "truncated or corrupt gzip data");
        free(buffer); return -1;
    }
    *data = buffer;
    *size = length;
    return 0;
}

int cio_write_gzip(const char *path, const uint8_t *data, size_t size, char *error, size_t error_size) {
    gzFile file = gzopen(path, "wb6");
    if (!file) {
        snprintf(error, error_size, "cannot create (%s)", strerror(errno));
        return -1;
    }
    size_t done = 0;
    while (done < size) {
        unsigned chunk = size - done > (1u << 30) ? (1u << 30) : (unsigned)(size - done);
        int written = gzwrite(file, data + done, chunk);
        if (written <= 0) {
            int code = 0;
            snprintf(error, error_size, "cannot write (%s)", gzerror(file, &code));
            gzclose(file);
            return -1;
        }
        done += (size_t)written;
    }
    if (gzclose(file) != Z_OK) {
        snprintf(error, error_size, "cannot finish writing (%s)", strerror(errno));
        return -1;
    }
    return 0;
}

int cio_inflate_exact(const uint8_t *input, size_t input_size, uint8_t *output, size_t output_size,
                      char *error, size_t error_size) {
    if (input_size > UINT_MAX || output_size > UINT_MAX) {
        snprintf(error, error_size, "compressed data over 4 GiB are not supported");
        return -1;
    }
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    // 15 + 32: a gzip or a zlib stream, told apart by its header.
    if (inflateInit2(&stream, 15 + 32) != Z_OK) { snprintf(error, error_size, "cannot start decompression"); return -1; }
    stream.next_in = (Bytef *)input;
    stream.avail_in = (uInt)input_size;
    stream.next_out = output;
    stream.avail_out = (uInt)output_size;
    int status = inflate(&stream, Z_FINISH);
    size_t produced = output_size - stream.avail_out;
    const char *message = stream.msg;
    inflateEnd(&stream);
    if (status == Z_STREAM_END && produced == output_size) return 0;
    if (status == Z_STREAM_END || (status == Z_BUF_ERROR && stream.avail_out > 0)) {
        snprintf(error, error_size, "truncated: the compressed data hold %zu of the %zu bytes the header gives", produced, output_size);
    } else if (status == Z_BUF_ERROR) {
        snprintf(error, error_size, "the compressed data hold more than the %zu bytes the header gives", output_size);
    } else {
        snprintf(error, error_size, "corrupt compressed data (%s)", message ? message : "zlib error");
    }
    return -1;
}

int cio_gzip_compress(const uint8_t *input, size_t input_size, uint8_t **output, size_t *output_size,
                      char *error, size_t error_size) {
    *output = NULL;
    *output_size = 0;
    if (input_size > UINT_MAX) { snprintf(error, error_size, "data over 4 GiB are not supported"); return -1; }
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    // 15 + 16: a gzip stream (NRRD's "encoding: gzip").
    if (deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        snprintf(error, error_size, "cannot start compression");
        return -1;
    }
    uLong bound = deflateBound(&stream, (uLong)input_size);
    uint8_t *buffer = malloc(bound > 0 ? bound : 1);
    if (!buffer) { deflateEnd(&stream); snprintf(error, error_size, "out of memory"); return -1; }
    stream.next_in = (Bytef *)input;
    stream.avail_in = (uInt)input_size;
    stream.next_out = buffer;
    stream.avail_out = (uInt)bound;
    int status = deflate(&stream, Z_FINISH);
    size_t produced = bound - stream.avail_out;
    deflateEnd(&stream);
    if (status != Z_STREAM_END) { free(buffer); snprintf(error, error_size, "cannot compress"); return -1; }
    *output = buffer;
    *output_size = produced;
    return 0;
}
