// C wrappers over libpng, libjpeg and zlib; their setjmp error handling stays in C.
#ifndef CIMAGEIO_H
#define CIMAGEIO_H
#ifdef __cplusplus
extern "C" {
#endif

/// libpng's version string.
const char *cio_png_version(void);

#ifdef __cplusplus
}
#endif
#endif
