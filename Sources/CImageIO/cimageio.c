#include "cimageio.h"
#include <png.h>

const char *cio_png_version(void) { return PNG_LIBPNG_VER_STRING; }
