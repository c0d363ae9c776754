#include "cimageio.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void cio_raster_free(cio_raster *raster) {
    if (raster) { free(raster->pixels); raster->pixels = NULL; }
}

void cio_free(void *pointer) { free(pointer); }
