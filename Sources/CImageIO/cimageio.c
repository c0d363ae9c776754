#include "cimageio.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void cio_raster_free(cio_raster *raster) {
    if (raster) { free(raster->pixels); raster->pixels = NULL; }
}

void cio_free(void *pointer) { free(pointer); }

uint64_t cio_max_pixels(void) {
    const char *text = getenv("SEGTUNE_MAX_PIXELS");
    if (text == NULL || *text == 0) return CIO_DEFAULT_MAX_PIXELS;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    // Not a positive whole number: the default, rather than no limit at all.
    return (errno != 0 || *end != 0 || value == 0 || text[0] == '-') ? CIO_DEFAULT_MAX_PIXELS : (uint64_t)value;
}
