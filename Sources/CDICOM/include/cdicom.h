// A plain C API over DCMTK: the only place that sees DCMTK's C++ headers.
// cdicom_read fills a cdicom_image and returns 0, or returns -1 with a one-line
// reason in `error`; the caller frees `values` with cdicom_free.
#ifndef CDICOM_H
#define CDICOM_H
#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int rows;
    int columns;
    int frames;
    int samples_per_pixel;       ///< 1 (gray) or 3 (RGB)
    int bits_allocated;
    int bits_stored;
    int pixel_representation;    ///< 1: signed samples
    double rescale_slope;        ///< 1 when absent
    double rescale_intercept;    ///< 0 when absent
    int has_window;
    double window_center, window_width;
    int has_pixel_spacing;
    double pixel_spacing[2];     ///< row spacing (between rows, y), column spacing (x), mm
    int has_image_position;
    double image_position[3];
    int has_image_orientation;
    double image_orientation[6];
    int has_instance_number;
    int instance_number;
    int has_slice_thickness;
    double slice_thickness;
    char photometric[32];        ///< after decoding: MONOCHROME1, MONOCHROME2, RGB
    char modality[32];
    char sop_instance_uid[72];
    char series_instance_uid[72];
    char series_description[80];
    char transfer_syntax_uid[72];
    char transfer_syntax_name[96];
    /// frames × rows × columns × samples_per_pixel modality values (stored × slope +
    /// intercept for gray; RGB samples as stored), or NULL when read without pixels.
    float *values;
    char error[512];
} cdicom_image;

/// DCMTK's version string.
const char *cdicom_dcmtk_version(void);

/// Reads a DICOM file's attributes and, when `with_pixels`, its decoded pixels.
int cdicom_read(const char *path, int with_pixels, cdicom_image *out);

void cdicom_free(cdicom_image *image);

#ifdef __cplusplus
}
#endif
#endif
